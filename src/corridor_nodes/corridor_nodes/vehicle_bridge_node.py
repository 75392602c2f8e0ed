"""corridor_vehicle_bridge: the planner in the loop, VDA 5050 orders out, truck reports in.

Thin: converts ROS requests (SubmitRun, CancelRun), checkpoint data (PlateRead, Manifest) and
MQTT reports (state, connection) into events of :class:`corridor_core.fleet_controller.
FleetController` on the controller's clock, and executes the commands it returns: orders and
instant actions over MQTT, RunStatus / VehicleState / ClearanceDecision on ROS, plan events as
JSON on ``/corridor/plan/events``, problems logged and counted. The MQTT inbox is drained on
this node's executor, never on paho's thread.

The controller's clock is seconds since ``start_time`` on the node's ROS clock (wall clock, or
``/clock`` with ``use_sim_time``); its window calendar comes from ``agreement_path``, watched
for changes (file polled, or the parameter set at run time) and applied without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
from pathlib import Path
from zoneinfo import ZoneInfo

from corridor_interfaces.msg import Manifest, PlateRead
from corridor_interfaces.srv import CancelRun, ClearVehicle, SubmitRun
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import String

from corridor_core.dispatcher import (
    Problem,
    SendOrder,
)
from corridor_core.errors import ConfigError
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
from corridor_core.vda5050 import FactsheetReport, StateReport
from corridor_links.vda_link import ConnectionReport, InboundProblem, LinkStatus, VdaLink
from corridor_nodes import convert, topics
from corridor_nodes.agreement_watch import AgreementWatch
from corridor_nodes.params import VehicleBridgeParams, start_time, time_zone
from corridor_nodes.run_outputs import RunOutputs
from corridor_nodes.runner import log_link_status, spin

PLAN_EVENTS = "/corridor/plan/events"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # of ROS time


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
            clearance_allowance_s=p.clearance_allowance_s,
        )
        self.core = FleetController(
            lane_map, self.fleet, controller=CONTROLLERS[p.controller], settings=settings
        )
        self.problems = 0
        self._sim_time = bool(self.get_parameter("use_sim_time").value)
        self._start_ns: int | None = None  # ROS time of clock 0, once known
        self.watch = AgreementWatch.open(p.agreement_path, dt.datetime.now(dt.UTC))
        a = self.watch.agreement
        self.zone = p.time_zone or (a.time_zone if a else "UTC")
        time_zone(self.zone)
        start = start_time(p.start_time, self.zone) if p.start_time else None
        self.outputs = RunOutputs(self, self.fleet.manufacturer)
        self.plan_pub = self.create_publisher(String, PLAN_EVENTS, topics.EVENTS)
        self.create_subscription(PlateRead, topics.PLATE_READS, self._on_plate_read, topics.EVENTS)
        self.create_subscription(Manifest, topics.MANIFESTS, self._on_manifest, topics.EVENTS)
        self.create_service(SubmitRun, topics.SUBMIT_RUN, self._on_submit)
        self.create_service(CancelRun, topics.CANCEL_RUN, self._on_cancel)
        self.create_service(ClearVehicle, topics.CLEAR_VEHICLE, self._on_clear_vehicle)
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
        if start is not None or not self._sim_time:
            self._begin(start)  # else at the first /clock
        steady = Clock(clock_type=ClockType.STEADY_TIME)  # timers run on the wall clock
        self.create_timer(p.agreement_poll_s, self._poll_agreement, clock=steady)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(p.tick_period_s, self._tick, clock=steady)
        clock = f"/clock, x{p.time_scale:g}" if self._sim_time else "wall clock"
        self.get_logger().info(
            f"planning {len(self.fleet.trucks)} trucks on map {lane_map.name!r} "
            f"({p.controller} controller, {clock}, {self.zone}), "
            f"broker {p.mqtt_host}:{p.mqtt_port}"
        )
        if a is None:
            self.get_logger().warning(
                "NO AGREEMENT: agreement_path is empty, so the lane is ALWAYS OPEN to both "
                "directions (no windows, no last entry, no close, no holidays). Set "
                "agreement_path to config/agreements/NAME.yaml for service."
            )

    def now_s(self) -> float:
        """The controller's clock: seconds since ``start_time`` on the ROS clock (0.0 until
        the clock has started: no ``/clock`` received yet)."""
        ns = self.get_clock().now().nanoseconds
        if self._start_ns is None or ns == 0:
            return 0.0
        return (ns - self._start_ns) / 1e9

    def _begin(self, start: dt.datetime | None) -> None:
        """Fix clock 0 (``start``, or the ROS clock's now) and plan on the agreement from it."""
        if start is None:
            self._start_ns = self.get_clock().now().nanoseconds
            start = dt.datetime.fromtimestamp(self._start_ns / 1e9, dt.UTC)
        else:
            self._start_ns = (start - EPOCH) // dt.timedelta(microseconds=1) * 1000
        self.watch.epoch = start.astimezone(ZoneInfo(self.zone))
        self.get_logger().info(f"controller clock 0 = {self.watch.epoch.isoformat()}")
        self._apply_calendar()

    def _apply_calendar(self) -> None:
        now_s = self.now_s()
        calendar = self.watch.calendar(now_s)
        self._execute(self.core.set_calendar(calendar, now_s))
        self.get_logger().info(self.watch.describe(calendar, now_s, self.zone))

    def _poll_agreement(self) -> None:
        """Wall-clock timer: apply a changed agreement file; extend the calendar's horizon."""
        if self._start_ns is None:
            return
        outcome = self.watch.poll()
        if isinstance(outcome, ConfigError):
            self.get_logger().error(f"agreement change refused, the old one stays: {outcome}")
        elif outcome or self.watch.needs_extension(self.now_s()):
            self._apply_calendar()

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """``agreement_path`` set at run time: load it (refused with the loader's error)."""
        for param in params:
            if param.name != "agreement_path":
                continue
            try:
                self.watch.switch(str(param.value))
            except ConfigError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
            self.get_logger().info(f"agreement_path is now {param.value!r}")
            if self._start_ns is not None:
                self._apply_calendar()
        return SetParametersResult(successful=True)

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

    def _on_clear_vehicle(
        self, request: ClearVehicle.Request, response: ClearVehicle.Response
    ) -> ClearVehicle.Response:
        accepted, message, commands = self.core.clear_vehicle(
            request.vehicle_id, request.reason, request.operator_id, self.now_s()
        )
        self.get_logger().warning(
            f"operator {request.operator_id!r} clears truck {request.vehicle_id}: "
            f"{request.reason!r} -> {message}"
        )
        self._execute(commands)
        response.accepted, response.message = accepted, message
        return response

    def _on_plate_read(self, msg: PlateRead) -> None:
        self._execute(self.core.on_plate_read(convert.observation_from_msg(msg), self.now_s()))

    def _on_manifest(self, msg: Manifest) -> None:
        self._execute(self.core.on_manifest(convert.manifest_from_msg(msg), self.now_s()))

    def _tick(self) -> None:
        if self.get_clock().now().nanoseconds == 0:
            return  # no /clock yet: truck reports wait in the inbox
        if self._start_ns is None:
            self._begin(None)
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
            elif isinstance(item, FactsheetReport):
                self._execute(self.core.on_factsheet(item.serial, item.action_types, now_s))
            elif isinstance(item, InboundProblem):
                self._problem(f"MQTT {item.topic}: {item.text}")
            elif isinstance(item, LinkStatus):
                log_link_status(self, item.connected, item.text)
                if item.connected:  # subscribed (again): ask every truck where it is
                    for truck in self.fleet.trucks:
                        self._execute(self.core.request_state(truck.serial))
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
