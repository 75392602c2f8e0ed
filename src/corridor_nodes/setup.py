"""Thin rclpy nodes of Corridor and the corridor command-line interface."""

from setuptools import find_packages, setup

PACKAGE = "corridor_nodes"

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
    description="Thin rclpy nodes of Corridor and the corridor command-line interface.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "corridor = corridor_nodes.cli:main",
            "corridor-dispatcher = corridor_nodes.dispatcher_node:main",
            "corridor-checkpoint-bridge = corridor_nodes.checkpoint_bridge_node:main",
            "corridor-vehicle-bridge = corridor_nodes.vehicle_bridge_node:main",
        ]
    },
)
