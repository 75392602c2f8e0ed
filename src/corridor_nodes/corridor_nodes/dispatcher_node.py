"""corridor_dispatcher: runs in (SubmitRun, CancelRun), checkpoint data in, VDA 5050 orders out.

Thin: converts ROS messages and MQTT reports into core events, calls
:class:`corridor_core.dispatcher.Dispatcher`, and executes the commands it returns
(publish RunStatus / VehicleState / ClearanceDecision, send orders over MQTT, log problems).
The MQTT inbox is drained on this node's executor, never on paho's thread.
"""

from __future__ import annotations

import queue

from corridor_interfaces.msg import Manifest, PlateRead
from corridor_interfaces.srv import CancelRun, SubmitRun
from rclpy.node import Node

from corridor_core.dispatcher import (
    Command,
    Dispatcher,
    Problem,
    SendOrder,
)
from corridor_core.fleet import load_fleet
from corridor_core.map_io import load_map
from corridor_core.vda5050 import StateReport
from corridor_links.vda_link import ConnectionReport, InboundProblem, LinkStatus, VdaLink
from corridor_nodes import convert, topics
from corridor_nodes.params import DispatcherParams
from corridor_nodes.run_outputs import RunOutputs
from corridor_nodes.runner import log_link_status, spin


class DispatcherNode(Node):
    """The dispatcher node."""

    def __init__(self) -> None:
        super().__init__("corridor_dispatcher")
        self.params = DispatcherParams.declare(self)
        lane_map = load_map(self.params.map_path)
        self.fleet = load_fleet(self.params.fleet_path, lane_map)
        self.core = Dispatcher(lane_map, self.fleet)
        self.problems = 0
        self.outputs = RunOutputs(self, self.fleet.manufacturer)
        self.create_subscription(PlateRead, topics.PLATE_READS, self._on_plate_read, topics.EVENTS)
        self.create_subscription(Manifest, topics.MANIFESTS, self._on_manifest, topics.EVENTS)
        self.create_service(SubmitRun, topics.SUBMIT_RUN, self._on_submit)
        self.create_service(CancelRun, topics.CANCEL_RUN, self._on_cancel)
        self.link = VdaLink(
            self.params.mqtt_host,
            self.params.mqtt_port,
            self.params.mqtt_user,
            self.params.mqtt_password,
            self.fleet.manufacturer,
        )
        self.link.start()
        self.create_timer(self.params.drain_period_s, self._drain_mqtt)
        self.get_logger().info(
            f"dispatching {len(self.fleet.trucks)} trucks on map {lane_map.name!r}, "
            f"broker 127.0.0.1:{self.params.mqtt_port}"
        )

    def _execute(self, commands: list[Command]) -> None:
        stamp = self.get_clock().now().to_msg()
        for command in commands:
            if self.outputs.publish(command, stamp):
                continue
            if isinstance(command, SendOrder):
                msg = self.link.send_order(command.vehicle_id, command.order)
                self.get_logger().info(
                    f"order {msg['orderId']} sent to {command.vehicle_id} "
                    f"({len(msg['nodes'])} nodes)"
                )
            elif isinstance(command, Problem):
                self._problem(command.text)

    def _problem(self, text: str) -> None:
        self.problems += 1
        self.get_logger().error(f"bad input #{self.problems}: {text}")

    def _on_submit(
        self, request: SubmitRun.Request, response: SubmitRun.Response
    ) -> SubmitRun.Response:
        try:
            run = convert.run_from_msg(request.run)
        except ValueError as exc:
            self._problem(f"run {request.run.run_id!r} rejected: {exc}")
            response.accepted, response.message = False, str(exc)
            return response
        accepted, message, commands = self.core.submit(run)
        self._execute(commands)
        response.accepted, response.message = accepted, message
        return response

    def _on_cancel(
        self, request: CancelRun.Request, response: CancelRun.Response
    ) -> CancelRun.Response:
        accepted, message, commands = self.core.cancel(request.run_id, request.reason)
        self._execute(commands)
        response.accepted, response.message = accepted, message
        return response

    def _on_plate_read(self, msg: PlateRead) -> None:
        self._execute(self.core.on_plate_read(convert.observation_from_msg(msg)))

    def _on_manifest(self, msg: Manifest) -> None:
        self._execute(self.core.on_manifest(convert.manifest_from_msg(msg)))

    def _drain_mqtt(self) -> None:
        while True:
            try:
                item = self.link.inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, StateReport):
                self._execute(self.core.on_state(item))
            elif isinstance(item, ConnectionReport):
                self.get_logger().info(f"truck {item.serial} is {item.state}")
                self._execute(self.core.on_connection(item.serial, item.manufacturer, item.state))
            elif isinstance(item, InboundProblem):
                self._problem(f"MQTT {item.topic}: {item.text}")
            elif isinstance(item, LinkStatus):
                log_link_status(self, item.connected, item.text)

    def destroy_node(self) -> None:
        """Disconnect from the broker, then destroy the node."""
        self.link.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Console entry point: ``corridor-dispatcher --ros-args --params-file FILE``."""
    return spin(DispatcherNode, "corridor-dispatcher", args)


if __name__ == "__main__":
    raise SystemExit(main())
