"""The walking-skeleton scenario: carry a few containers across and print a readable timeline.

Driven over the real interfaces only: runs go in through the ``SubmitRun`` service, customs data
and plate reads go in through the checkpoint's OPC UA ``Simulation`` methods, and progress comes
back on ROS topics (RunStatus, ClearanceDecision, VehicleState).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import rclpy
from asyncua import Client
from corridor_interfaces.msg import ClearanceDecision, RunStatus, VehicleState
from corridor_interfaces.srv import SubmitRun
from rclpy.node import Node

from corridor_core.iso6346 import with_check_digit
from corridor_core.runs import ContainerRun, Direction, RunState
from corridor_links import checkpoint_schema as cs
from corridor_nodes import topics
from corridor_nodes.run_submitter import RunSubmitter
from corridor_nodes.stack import OPCUA_USER, Stack


@dataclass(frozen=True)
class PlannedRun:
    """A run of the scenario and what customs will declare for it."""

    run: ContainerRun
    declared_plate: str | None = None  # None: the plate of the truck the run is assigned to
    customs_status: str = "RELEASED"
    manifest: bool = True  # False: customs never sends one (only the plate is read)


def skeleton_runs(cn_yard: str = "Z-CN", vn_yard: str = "Z-VN") -> list[PlannedRun]:
    """Three southbound runs (one with a manifest naming another truck) and one northbound."""

    def run(i: int, prefix: str, direction: Direction) -> ContainerRun:
        origin, dest = (
            (cn_yard, vn_yard) if direction is Direction.SOUTHBOUND else (vn_yard, cn_yard)
        )
        return ContainerRun(f"R-{i:03d}", with_check_digit(prefix), origin, dest, direction)

    return [
        PlannedRun(run(1, "CSQU305438", Direction.SOUTHBOUND)),
        PlannedRun(run(2, "TEXU307007", Direction.SOUTHBOUND)),
        PlannedRun(run(3, "MSCU123456", Direction.SOUTHBOUND), declared_plate="桂F·D3999"),
        PlannedRun(run(4, "TGHU765432", Direction.NORTHBOUND)),
    ]


@dataclass
class Timeline:
    """Collects what happened, prints it as it happens."""

    t0: float
    time_scale: float
    echo: Callable[[str], None] = print
    lines: list[str] = field(default_factory=list)

    def add(self, subject: str, what: str) -> None:
        wall = time.monotonic() - self.t0
        line = f"  {wall:6.1f} s  (sim {wall * self.time_scale / 60:5.1f} min)  {subject:<6} {what}"
        self.lines.append(line)
        self.echo(line)


class ScenarioDriver(Node):
    """Submits the runs, plays the checkpoint, and watches the outcome."""

    def __init__(self, stack: Stack, planned: list[PlannedRun], timeline: Timeline) -> None:
        super().__init__("corridor_scenario")
        logging.getLogger("asyncua").setLevel(logging.ERROR)
        self.stack = stack
        self.planned = {p.run.run_id: p for p in planned}
        self.timeline = timeline
        self.status: dict[str, RunStatus] = {}
        self.vehicles: dict[str, VehicleState] = {}
        self.decisions: dict[str, ClearanceDecision] = {}
        self.checkpoint_posted: set[str] = set()
        self.create_subscription(RunStatus, topics.RUN_STATUS, self._on_status, topics.EVENTS)
        self.create_subscription(
            VehicleState, topics.VEHICLE_STATE, self._on_vehicle, topics.EVENTS
        )
        self.create_subscription(
            ClearanceDecision, topics.CLEARANCE, self._on_decision, topics.EVENTS
        )
        self.submit_client = self.create_client(SubmitRun, topics.SUBMIT_RUN)
        self.submitter = RunSubmitter(self.submit_client)

    # --- observation -----------------------------------------------------------------------
    def _on_status(self, msg: RunStatus) -> None:
        old = self.status.get(msg.run_id)
        self.status[msg.run_id] = msg
        if old is not None and old.status == msg.status and old.last_node_id == msg.last_node_id:
            return
        if msg.status_name in ("CLEARED", "HELD"):
            return  # the ClearanceDecision line says it, with the reasons
        planned = self.planned.get(msg.run_id)
        route = f"{planned.run.origin} → {planned.run.destination}" if planned else ""
        detail = {
            "SUBMITTED": f"{msg.container_number} {route}",
            "ASSIGNED": f"truck {msg.vehicle_id}",
            "DISPATCHED": f"order {msg.order_id} to {msg.vehicle_id}",
            "IN_PROGRESS": f"{msg.vehicle_id} passed {msg.last_node_id}",
            "COMPLETED": f"{msg.vehicle_id} delivered at {msg.last_node_id}",
            "HELD": msg.reason,
        }.get(msg.status_name, "")
        self.timeline.add(msg.run_id, f"{msg.status_name:<11} {detail}")

    def _on_vehicle(self, msg: VehicleState) -> None:
        old = self.vehicles.get(msg.vehicle_id)
        self.vehicles[msg.vehicle_id] = msg
        if old is None or old.connection != msg.connection:
            self.timeline.add(msg.vehicle_id, f"{msg.connection} ({msg.plate})")

    def _on_decision(self, msg: ClearanceDecision) -> None:
        self.decisions[msg.run_id] = msg
        why = "; ".join(msg.reasons) if msg.reasons else f"plate {msg.plate} matches the manifest"
        self.timeline.add(msg.run_id, f"{msg.decision_name:<11} {why}")

    # --- actions ---------------------------------------------------------------------------
    def submit_all(self, timeout_s: float) -> None:
        """Submit every planned run through the SubmitRun service and check every answer.

        Raises:
            TimeoutError: the service did not appear within ``timeout_s``.
            RuntimeError: a run was rejected, or got no answer within ``timeout_s`` more.
        """
        for planned in self.planned.values():
            self.submitter.submit(planned.run)
        self.submitter.service_timeout_s = timeout_s
        self.submitter.pump()
        deadline = time.monotonic() + timeout_s
        while not self.submitter.idle() and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
            self.submitter.pump()
        refused = self.submitter.refusals()
        if refused or not self.submitter.idle():
            raise RuntimeError(f"runs not accepted ({self.submitter.summary()}): {refused}")

    def play_checkpoint(self) -> None:
        """For every newly assigned run: post its manifest, then the truck's plate read."""
        for run_id, msg in sorted(self.status.items()):
            if msg.status_name != "ASSIGNED" or run_id in self.checkpoint_posted:
                continue
            planned = self.planned.get(run_id)
            truck = self.stack.fleet.by_serial(msg.vehicle_id)
            if planned is None or truck is None:
                continue
            self.checkpoint_posted.add(run_id)
            declared = planned.declared_plate or truck.plate
            self._post(run_id, planned, declared, truck.plate)

    def _post(self, run_id: str, planned: PlannedRun, declared: str, read: str) -> None:
        manifest = ("PostManifest", f"DEC-{run_id}", planned.run.container_number, declared,
                    planned.customs_status, "GREEN")  # fmt: skip
        plate = ("InjectPlateRead", "VN-IN-1", read, 0.97)
        self.stack.call_checkpoint(*((manifest, plate) if planned.manifest else (plate,)))

    def finished(self) -> bool:
        """True when every planned run is in a final state."""
        return len(self.status) == len(self.planned) and all(
            RunState(m.status).final for m in self.status.values()
        )

    def wait_for_checkpoint(self, timeout_s: float) -> None:
        """Wait until the checkpoint's OPC UA server answers."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                asyncio.run(self._probe())
                return
            except (OSError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"checkpoint {self.stack.opcua_url} not up: {exc}") from exc
                time.sleep(0.2)

    async def _probe(self) -> None:
        client = Client(self.stack.opcua_url, timeout=2)
        client.set_user(OPCUA_USER)
        client.set_password(self.stack.opcua_password)
        async with client:
            await client.get_namespace_index(cs.NAMESPACE_URI)

    def wait_trucks_online(self, timeout_s: float) -> None:
        """Spin until every truck of the fleet is reported ONLINE."""
        deadline = time.monotonic() + timeout_s
        serials = {t.serial for t in self.stack.fleet.trucks}
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
            online = {s for s, v in self.vehicles.items() if v.connection == "ONLINE"}
            if serials <= online:
                return
        raise TimeoutError(
            f"trucks not online after {timeout_s} s: {sorted(serials - set(self.vehicles))}"
        )

    def run_until_done(self, timeout_s: float) -> bool:
        """Spin, playing the checkpoint, until every run is final; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
            self.play_checkpoint()
            if self.finished():
                return True
        return False
