"""corridor_vehicle_bridge: the planner in the loop, VDA 5050 orders out, truck reports in.

Thin: converts ROS requests (SubmitRun, CancelRun), checkpoint data (PlateRead, Manifest) and
MQTT reports (state, connection) into events of :class:`corridor_core.fleet_controller.
FleetController` on the controller's clock, and executes the commands it returns: orders and
instant actions over MQTT, RunStatus / VehicleState / ClearanceDecision on ROS, plan events as
JSON on ``/corridor/plan/events``, problems logged and counted. The MQTT inbox is drained on
this node's executor, never on paho's thread.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

from corridor_interfaces.msg import Manifest, PlateRead
from corridor_interfaces.srv import CancelRun, SubmitRun
from rclpy.node import Node
from std_msgs.msg import String

from corridor_core.dispatcher import (
    Problem,
    SendOrder,
)
from corridor_core.fleet import load_fleet
from corridor_core.fleet_controller import (
    FleetCommand,
    FleetController,
    LinkSettings,
    Replanned,
    SendInstantActions,
)
from corridor_core.map_io import load_map
from corridor_core.planning.router import CONTROLLERS
from corridor_core.vda5050 import StateReport
from corridor_links.vda_link import ConnectionReport, InboundProblem, LinkStatus, VdaLink
from corridor_nodes import convert, topics
from corridor_nodes.params import VehicleBridgeParams
from corridor_nodes.run_outputs import RunOutputs
from corridor_nodes.runner import log_link_status, spin

PLAN_EVENTS = "/corridor/plan/events"


class VehicleBridgeNode(Node):
    """The vehicle-bridge node."""

    def __init__(self) -> None:
        super().__init__("corridor_vehicle_bridge")
        self.params = p = VehicleBridgeParams.declare(self)
        lane_map = load_map(p.map_path)
        self.fleet = load_fleet(p.fleet_path, lane_map)
        settings = LinkSettings(
            resend_after_s=p.resend_after_s,
            release_lead_s=p.release_lead_s,
            keep_plan_times=p.keep_plan_times,
            silent_after_s=p.silent_after_s,
            late_tolerance_s=p.late_tolerance_s,
        )
        self.core = FleetController(
            lane_map, self.fleet, controller=CONTROLLERS[p.controller], settings=settings
        )
        self.problems = 0
        self._t0 = time.monotonic()
        self.outputs = RunOutputs(self, self.fleet.manufacturer)
        self.plan_pub = self.create_publisher(String, PLAN_EVENTS, topics.EVENTS)
        self.create_subscription(PlateRead, topics.PLATE_READS, self._on_plate_read, topics.EVENTS)
        self.create_subscription(Manifest, topics.MANIFESTS, self._on_manifest, topics.EVENTS)
        self.create_service(SubmitRun, topics.SUBMIT_RUN, self._on_submit)
        self.create_service(CancelRun, topics.CANCEL_RUN, self._on_cancel)
        self.link = VdaLink(
            p.mqtt_host,
            p.mqtt_port,
            p.mqtt_user,
            p.mqtt_password,
            self.fleet.manufacturer,
            client_id="corridor-vehicle-bridge",
            tls_ca=Path(p.mqtt_tls_ca) if p.mqtt_tls_ca else None,
        )
        self.link.start()
        self.create_timer(p.tick_period_s, self._tick)
        self.get_logger().info(
            f"planning {len(self.fleet.trucks)} trucks on map {lane_map.name!r} "
            f"({p.controller} controller, clock x{p.time_scale:g}), "
            f"broker {p.mqtt_host}:{p.mqtt_port}"
        )

    def now_s(self) -> float:
        """The controller's clock: seconds since start, times ``time_scale``."""
        return (time.monotonic() - self._t0) * self.params.time_scale

    def _execute(self, commands: list[FleetCommand]) -> None:
        stamp = self.get_clock().now().to_msg()
        for command in commands:
            if self.outputs.publish(command, stamp):
                continue
            if isinstance(command, SendOrder):
                self.link.send_order(command.vehicle_id, command.order)
            elif isinstance(command, SendInstantActions):
                self.link.send_instant_actions(command.vehicle_id, list(command.actions))
            elif isinstance(command, Replanned):
                text = {"vehicle_id": command.vehicle_id, "reason": command.reason}
                self.plan_pub.publish(String(data=json.dumps({"t_s": self.now_s(), **text})))
                self.get_logger().info(f"plan: {command.vehicle_id} {command.reason}")
            elif isinstance(command, Problem):
                self._problem(command.text)

    def _problem(self, text: str) -> None:
        self.problems += 1
        self.get_logger().warning(f"bad input #{self.problems}: {text}")

    def _on_submit(
        self, request: SubmitRun.Request, response: SubmitRun.Response
    ) -> SubmitRun.Response:
        try:
            run = convert.run_from_msg(request.run)
        except ValueError as exc:
            self._problem(f"run {request.run.run_id!r} rejected: {exc}")
            response.accepted, response.message = False, str(exc)
            return response
        accepted, message, commands = self.core.submit(run, self.now_s())
        self._execute(commands)
        response.accepted, response.message = accepted, message
        return response

    def _on_cancel(
        self, request: CancelRun.Request, response: CancelRun.Response
    ) -> CancelRun.Response:
        accepted, message, commands = self.core.cancel(request.run_id, request.reason, self.now_s())
        self._execute(commands)
        response.accepted, response.message = accepted, message
        return response

    def _on_plate_read(self, msg: PlateRead) -> None:
        self._execute(self.core.on_plate_read(convert.observation_from_msg(msg), self.now_s()))

    def _on_manifest(self, msg: Manifest) -> None:
        self._execute(self.core.on_manifest(convert.manifest_from_msg(msg), self.now_s()))

    def _tick(self) -> None:
        while True:
            try:
                item = self.link.inbox.get_nowait()
            except queue.Empty:
                break
            now_s = self.now_s()
            if isinstance(item, StateReport):
                self._execute(self.core.on_state(item, now_s))
            elif isinstance(item, ConnectionReport):
                if item.manufacturer != self.fleet.manufacturer:
                    self._problem(
                        f"connection from unknown truck {item.manufacturer}/{item.serial}"
                    )
                    continue
                self.get_logger().info(f"truck {item.serial} is {item.state}")
                self._execute(self.core.on_connection(item.serial, item.state, now_s))
            elif isinstance(item, InboundProblem):
                self._problem(f"MQTT {item.topic}: {item.text}")
            elif isinstance(item, LinkStatus):
                log_link_status(self, item.connected, item.text)
        self._execute(self.core.tick(self.now_s()))

    def destroy_node(self) -> None:
        """Disconnect from the broker, then destroy the node."""
        self.link.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Console entry point: ``corridor-vehicle-bridge --ros-args --params-file FILE``."""
    return spin(VehicleBridgeNode, "corridor-vehicle-bridge", args)


if __name__ == "__main__":
    raise SystemExit(main())
