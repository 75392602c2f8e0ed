"""corridor_checkpoint_bridge: OPC UA checkpoint events in, PlateRead and Manifest out.

The asyncua client runs in its own thread and only enqueues decoded records; a timer on this
node's executor drains the queue and publishes.
"""

from __future__ import annotations

import logging
import queue

from corridor_interfaces.msg import Manifest, PlateRead
from rclpy.node import Node

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_links.checkpoint_client import CheckpointClient, CheckpointProblem, CheckpointStatus
from corridor_nodes import convert, topics
from corridor_nodes.params import BridgeParams
from corridor_nodes.runner import log_link_status, spin


class CheckpointBridgeNode(Node):
    """The checkpoint bridge node."""

    def __init__(self) -> None:
        super().__init__("corridor_checkpoint_bridge")
        logging.getLogger("asyncua").setLevel(logging.ERROR)
        self.params = BridgeParams.declare(self)
        self.plate_pub = self.create_publisher(PlateRead, topics.PLATE_READS, topics.EVENTS)
        self.manifest_pub = self.create_publisher(Manifest, topics.MANIFESTS, topics.EVENTS)
        self.client = CheckpointClient(
            self.params.opcua_url, self.params.opcua_user, self.params.opcua_password
        )
        self.client.start()
        self.checkpoint_id = self.params.opcua_url
        self.create_timer(self.params.drain_period_s, self._drain)

    def _drain(self) -> None:
        while True:
            try:
                item = self.client.inbox.get_nowait()
            except queue.Empty:
                return
            stamp = self.get_clock().now().to_msg()
            if isinstance(item, PlateObservation):
                self.plate_pub.publish(convert.plate_read_msg(item, self.checkpoint_id, stamp))
                self.get_logger().info(f"plate read {item.plate} at {item.lane_id}")
            elif isinstance(item, ManifestRecord):
                self.manifest_pub.publish(convert.manifest_msg(item, self.checkpoint_id, stamp))
                self.get_logger().info(
                    f"manifest {item.declaration_number} for {item.container_number}"
                )
            elif isinstance(item, CheckpointProblem):
                self.get_logger().error(item.text)
            elif isinstance(item, CheckpointStatus):
                log_link_status(self, item.connected, item.text)

    def destroy_node(self) -> None:
        """Stop the OPC UA client, then destroy the node."""
        self.client.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Console entry point: ``corridor-checkpoint-bridge --ros-args --params-file FILE``."""
    return spin(CheckpointBridgeNode, "corridor-checkpoint-bridge", args)


if __name__ == "__main__":
    raise SystemExit(main())
