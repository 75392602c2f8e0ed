"""Pure core of Corridor: corridor model, identities, clearance rules, VDA 5050 codec, dispatch. No I/O libraries."""

from setuptools import find_packages, setup

PACKAGE = "corridor_core"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={PACKAGE: ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    description="Pure core of Corridor: corridor model, identities, clearance rules, VDA 5050 codec, dispatch. No I/O libraries.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={"console_scripts": []},
)
