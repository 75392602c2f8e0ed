"""Corridor simulation: checkpoint emulator (OPC UA server) and emulated VDA 5050 trucks (MQTT)."""

from setuptools import find_packages, setup

PACKAGE = "corridor_sim"

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
    description="Corridor simulation: checkpoint emulator (OPC UA server) and emulated VDA 5050 trucks (MQTT).",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "corridor-checkpoint-emulator = corridor_sim.checkpoint_emulator:main",
            "corridor-truck-emulator = corridor_sim.truck_emulator:main",
        ]
    },
)
