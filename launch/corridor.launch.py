"""ROS 2 launch description of the corridor's nodes, for users with a full ROS 2 install.

`corridor run` starts the same processes with its own small supervisor (the `launch` packages
are not published on PyPI, so the pip-installed stack cannot use this file). Pass the
parameter files `corridor run --run-dir DIR` wrote, or your own:

    ros2 launch launch/corridor.launch.py \
        dispatcher_params:=DIR/params/corridor_dispatcher.yaml \
        bridge_params:=DIR/params/corridor_checkpoint_bridge.yaml
"""

from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    dispatcher_params = LaunchConfiguration("dispatcher_params")
    bridge_params = LaunchConfiguration("bridge_params")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "dispatcher_params", description="corridor_dispatcher params YAML"
            ),
            DeclareLaunchArgument(
                "bridge_params", description="corridor_checkpoint_bridge params YAML"
            ),
            Node(
                package="corridor_nodes",
                executable="corridor-dispatcher",
                name="corridor_dispatcher",
                parameters=[dispatcher_params],
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
