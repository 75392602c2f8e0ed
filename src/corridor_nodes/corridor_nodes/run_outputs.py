"""The ROS outputs every controller node shares: RunStatus, VehicleState and ClearanceDecision.

Both the skeleton dispatcher and the vehicle bridge execute core commands; the ones that only
tell ROS about runs, trucks and clearances are published here the same way for both.
"""

from __future__ import annotations

from typing import Any

from builtin_interfaces.msg import Time
from corridor_interfaces.msg import ClearanceDecision, RunStatus, VehicleState
from rclpy.node import Node

from corridor_core.dispatcher import ClearanceIssued, RunChanged, VehicleChanged
from corridor_nodes import convert, topics


class RunOutputs:
    """Publishers for run, vehicle and clearance events on ``node``.

    Args:
        node: the node that owns the publishers and logs the run changes.
        manufacturer: VDA 5050 manufacturer of the fleet (part of VehicleState).
    """

    def __init__(self, node: Node, manufacturer: str) -> None:
        self.node = node
        self.manufacturer = manufacturer
        self.status_pub = node.create_publisher(RunStatus, topics.RUN_STATUS, topics.EVENTS)
        self.vehicle_pub = node.create_publisher(VehicleState, topics.VEHICLE_STATE, topics.EVENTS)
        self.clearance_pub = node.create_publisher(
            ClearanceDecision, topics.CLEARANCE, topics.EVENTS
        )

    def publish(self, command: Any, stamp: Time) -> bool:
        """Publish ``command`` if it is a run, vehicle or clearance event; False otherwise."""
        if isinstance(command, RunChanged):
            self.status_pub.publish(convert.run_status_msg(command.run, stamp))
            run = command.run
            self.node.get_logger().info(
                f"run {run.run_id} {run.state.name}"
                + (f" truck {run.vehicle_id}" if run.vehicle_id else "")
                + (f": {run.reason}" if run.reason else "")
            )
        elif isinstance(command, VehicleChanged):
            self.vehicle_pub.publish(
                convert.vehicle_state_msg(command.vehicle, self.manufacturer, stamp)
            )
        elif isinstance(command, ClearanceIssued):
            self.clearance_pub.publish(convert.clearance_msg(command, stamp))
        else:
            return False
        return True
