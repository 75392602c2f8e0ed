"""ROS 2 launch description of the corridor's deployed nodes, for users with a full ROS 2 install.

It starts what `corridor run` starts on the controller side: the vehicle bridge (the
`FleetController`: planner, interlock, clearance and VDA 5050 orders over MQTT) and the
checkpoint bridge (OPC UA in). The broker, the checkpoint's OPC UA server and the vehicles are
the site's; `corridor run` starts emulated ones for the demo with its own small supervisor
(the `launch` packages are not published on PyPI, so the pip-installed stack cannot use this
file). Pass the parameter files `corridor run --run-dir DIR` wrote, or your own:

    ros2 launch launch/corridor.launch.py \
        vehicle_bridge_params:=DIR/params/corridor_vehicle_bridge.yaml \
        bridge_params:=DIR/params/corridor_checkpoint_bridge.yaml

The skeleton dispatcher (`corridor-dispatcher`, one order per run, no interlock) is not
started: it serves `corridor run --skeleton` only.
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    vehicle_bridge_params = LaunchConfiguration("vehicle_bridge_params")
    bridge_params = LaunchConfiguration("bridge_params")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "vehicle_bridge_params", description="corridor_vehicle_bridge params YAML"
            ),
            DeclareLaunchArgument(
                "bridge_params", description="corridor_checkpoint_bridge params YAML"
            ),
            Node(
                package="corridor_nodes",
                executable="corridor-vehicle-bridge",
                name="corridor_vehicle_bridge",
                parameters=[vehicle_bridge_params],
                output="screen",
            ),
            Node(
                package="corridor_nodes",
                executable="corridor-checkpoint-bridge",
                name="corridor_checkpoint_bridge",
                parameters=[bridge_params],
                output="screen",
            ),
        ]
    )
