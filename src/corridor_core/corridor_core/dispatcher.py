"""The dispatcher's decision core: runs in, assignments, clearance and orders out.

A pure state machine. Each ``on_*`` method takes one event and returns the commands it causes;
the ROS node (or a simulator) executes them. This is the walking-skeleton policy: a run goes to
the lowest-numbered idle, online truck standing at its origin yard, is cleared at the checkpoint
(:mod:`corridor_core.clearance`) and then driven over the shortest route in one released order.
The planning issue replaces assignment and routing behind the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from corridor_core import iso6346
from corridor_core.clearance import ClearanceResult, ManifestRecord, PlateObservation, decide
from corridor_core.errors import IdentityError
from corridor_core.fleet import Fleet, Truck
from corridor_core.lane_map import LaneMap, NodeKind, NoRoute
from corridor_core.plates import parse_plate
from corridor_core.runs import ContainerRun, RunState
from corridor_core.vda5050 import StateReport, build_order


@dataclass(frozen=True)
class RunView:
    """What the outside world sees of a run."""

    run_id: str
    container_number: str
    state: RunState
    vehicle_id: str = ""
    order_id: str = ""
    last_node_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class VehicleView:
    """What the controller knows of a truck."""

    vehicle_id: str
    plate: str
    connection: str = "OFFLINE"
    last_node_id: str = ""
    order_id: str = ""
    order_update_id: int = 0
    driving: bool = False
    battery_charge_pct: float = 100.0
    x_m: float = 0.0
    y_m: float = 0.0
    operating_mode: str = ""
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendOrder:
    """Send this order body (no header yet) to the truck."""

    vehicle_id: str
    order: dict[str, Any]


@dataclass(frozen=True)
class RunChanged:
    """A run changed state."""

    run: RunView


@dataclass(frozen=True)
class VehicleChanged:
    """What is known of a truck changed."""

    vehicle: VehicleView


@dataclass(frozen=True)
class ClearanceIssued:
    """A clearance decision was taken for a run."""

    run_id: str
    container_number: str
    vehicle_id: str
    plate: str
    result: ClearanceResult


@dataclass(frozen=True)
class Problem:
    """Bad input that was rejected; to be logged and counted, never to crash on."""

    text: str


Command = SendOrder | RunChanged | VehicleChanged | ClearanceIssued | Problem


@dataclass
class _Run:
    run: ContainerRun
    view: RunView
    observation: PlateObservation | None = None


@dataclass
class Dispatcher:
    """Dispatcher state for one corridor. Not thread-safe: drive it from one thread."""

    lane_map: LaneMap
    fleet: Fleet
    _runs: dict[str, _Run] = field(default_factory=dict)
    _vehicles: dict[str, VehicleView] = field(default_factory=dict)
    _assigned: dict[str, str] = field(default_factory=dict)  # vehicle id -> run id
    _manifests: dict[str, ManifestRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for truck in self.fleet.trucks:
            self._vehicles[truck.serial] = VehicleView(
                truck.serial, truck.plate, last_node_id=truck.home_node
            )

    # --- queries -------------------------------------------------------------------------
    def run(self, run_id: str) -> RunView | None:
        """The current view of a run, or None."""
        entry = self._runs.get(run_id)
        return entry.view if entry else None

    def runs(self) -> list[RunView]:
        """All runs, ordered by id."""
        return [self._runs[k].view for k in sorted(self._runs)]

    def vehicle(self, vehicle_id: str) -> VehicleView | None:
        """The current view of a truck, or None."""
        return self._vehicles.get(vehicle_id)

    # --- events --------------------------------------------------------------------------
    def submit(self, run: ContainerRun) -> tuple[bool, str, list[Command]]:
        """Accept or reject a new run. Returns (accepted, message, commands).

        A run identical to one already accepted is accepted again and changes nothing (a
        client that got no answer may send it again); the same id with other fields is refused.
        """
        number = iso6346.normalise(run.container_number)
        known = self._runs.get(run.run_id)
        if known is not None and known.run == replace(run, container_number=number):
            return True, "already accepted (identical re-submission)", []
        problem = self._check_run(run)
        if problem:
            return False, problem, [Problem(f"run {run.run_id!r} rejected: {problem}")]
        run = replace(run, container_number=number)
        view = RunView(run.run_id, number, RunState.SUBMITTED)
        self._runs[run.run_id] = _Run(run, view)
        return True, "accepted", [RunChanged(view), *self._assign()]

    def cancel(self, run_id: str, reason: str) -> tuple[bool, str, list[Command]]:
        """Cancel a run that has not been dispatched yet."""
        entry = self._runs.get(run_id)
        if entry is None:
            return False, f"unknown run {run_id!r}", []
        if entry.view.state.final or entry.view.state >= RunState.DISPATCHED:
            return False, f"run {run_id!r} is {entry.view.state.name} and cannot be cancelled", []
        self._release_vehicle(entry.view.vehicle_id)
        return (
            True,
            "cancelled",
            [self._set(entry, RunState.CANCELLED, reason=reason), *self._assign()],
        )

    def on_manifest(self, manifest: ManifestRecord) -> list[Command]:
        """Store a manifest posted by the checkpoint; rejects invalid ones."""
        record, problem = accept_manifest(manifest)
        if record is None:
            return [Problem(problem)]
        self._manifests[record.container_number] = record
        return self._evaluate_waiting()

    def on_plate_read(self, observation: PlateObservation) -> list[Command]:
        """A truck presented itself at a checkpoint lane."""
        truck = self.fleet.by_plate(observation.plate)
        if truck is None:
            return [
                Problem(
                    f"plate read {observation.plate!r} at lane {observation.lane_id!r} "
                    f"(transaction {observation.transaction_id!r}) matches no truck of the fleet"
                )
            ]
        run_id = self._assigned.get(truck.serial)
        entry = self._runs.get(run_id) if run_id else None
        if entry is None or entry.view.state is not RunState.ASSIGNED:
            return [
                Problem(
                    f"plate read {observation.plate!r}: truck {truck.serial} has no run "
                    "awaiting clearance"
                )
            ]
        entry.observation = observation
        return self._evaluate(entry, truck)

    def on_state(self, report: StateReport) -> list[Command]:
        """A truck's VDA 5050 state."""
        old = self._vehicles.get(report.serial)
        if old is None or report.manufacturer != self.fleet.manufacturer:
            return [
                Problem(f"state from unknown truck {report.manufacturer}/{report.serial} ignored")
            ]
        view = view_after_state(old, report)
        self._vehicles[report.serial] = view
        commands: list[Command] = [VehicleChanged(view)] if view != old else []
        run_id = self._assigned.get(report.serial)
        entry = self._runs.get(run_id) if run_id else None
        if entry and entry.view.order_id and report.order_id == entry.view.order_id:
            if (
                report.last_node_id == entry.run.destination
                and not report.pending_node_ids
                and not report.driving
            ):
                commands.append(
                    self._set(entry, RunState.COMPLETED, last_node_id=report.last_node_id)
                )
                self._release_vehicle(report.serial)
                commands.extend(self._assign())
            elif entry.view.state is RunState.DISPATCHED or (
                entry.view.last_node_id != report.last_node_id
            ):
                commands.append(
                    self._set(entry, RunState.IN_PROGRESS, last_node_id=report.last_node_id)
                )
        return commands

    def on_connection(self, serial: str, manufacturer: str, state: str) -> list[Command]:
        """A truck's VDA 5050 connection state (ONLINE / OFFLINE / CONNECTIONBROKEN)."""
        old = self._vehicles.get(serial)
        if old is None or manufacturer != self.fleet.manufacturer:
            return [Problem(f"connection from unknown truck {manufacturer}/{serial} ignored")]
        view = replace(old, connection=state)
        self._vehicles[serial] = view
        commands: list[Command] = [VehicleChanged(view)] if view != old else []
        return commands + (self._assign() if state == "ONLINE" else [])

    # --- internals -----------------------------------------------------------------------
    def _check_run(self, run: ContainerRun) -> str:
        return check_run(self.lane_map, run, set(self._runs))

    def _set(self, entry: _Run, state: RunState, **changes: Any) -> RunChanged:
        entry.view = replace(entry.view, state=state, **changes)
        return RunChanged(entry.view)

    def _release_vehicle(self, vehicle_id: str) -> None:
        if vehicle_id:
            self._assigned.pop(vehicle_id, None)

    def _idle_trucks_at(self, node_id: str) -> list[Truck]:
        return [
            t
            for t in self.fleet.trucks
            if t.serial not in self._assigned
            and self._vehicles[t.serial].connection == "ONLINE"
            and self._vehicles[t.serial].last_node_id == node_id
            and not self._vehicles[t.serial].driving
        ]

    def _assign(self) -> list[Command]:
        commands: list[Command] = []
        waiting = sorted(
            (e for e in self._runs.values() if e.view.state is RunState.SUBMITTED),
            key=lambda e: (e.run.ready_s, e.run.run_id),
        )
        for entry in waiting:
            idle = self._idle_trucks_at(entry.run.origin)
            if not idle:
                continue
            truck = min(idle, key=lambda t: t.serial)
            self._assigned[truck.serial] = entry.run.run_id
            commands.append(self._set(entry, RunState.ASSIGNED, vehicle_id=truck.serial))
        return commands

    def _evaluate_waiting(self) -> list[Command]:
        commands: list[Command] = []
        for entry in sorted(self._runs.values(), key=lambda e: e.run.run_id):
            if entry.view.state is RunState.ASSIGNED and entry.observation is not None:
                truck = self.fleet.by_serial(entry.view.vehicle_id)
                if truck is not None:
                    commands.extend(self._evaluate(entry, truck))
        return commands

    def _evaluate(self, entry: _Run, truck: Truck) -> list[Command]:
        assert entry.observation is not None
        manifest = self._manifests.get(entry.view.container_number)
        if manifest is None:
            return []  # wait for customs data; the plate read is kept
        result = decide(entry.view.container_number, truck.plate, entry.observation, manifest)
        issued = ClearanceIssued(
            entry.run.run_id,
            entry.view.container_number,
            truck.serial,
            entry.observation.plate,
            result,
        )
        if not result.cleared:
            self._release_vehicle(truck.serial)
            return [
                issued,
                self._set(entry, RunState.HELD, reason="; ".join(result.reasons)),
                *self._assign(),
            ]
        order_id = f"{entry.run.run_id}.1"
        legs = self.lane_map.route(entry.run.origin, entry.run.destination)
        order = build_order(self.lane_map, legs, order_id, 0, entry.run.origin)
        return [
            issued,
            self._set(entry, RunState.CLEARED),
            SendOrder(truck.serial, order),
            self._set(entry, RunState.DISPATCHED, order_id=order_id),
        ]


def view_after_state(old: VehicleView, report: StateReport) -> VehicleView:
    """A truck's view updated by its VDA 5050 state: a state brings an OFFLINE truck back
    ONLINE; a report without a last node keeps the one known."""
    return replace(
        old,
        connection="ONLINE" if old.connection == "OFFLINE" else old.connection,
        last_node_id=report.last_node_id or old.last_node_id,
        order_id=report.order_id,
        order_update_id=report.order_update_id,
        driving=report.driving,
        battery_charge_pct=report.battery_charge_pct,
        x_m=report.x_m,
        y_m=report.y_m,
        operating_mode=report.operating_mode,
        errors=report.errors,
    )


def check_run(lane_map: LaneMap, run: ContainerRun, known_ids: set[str]) -> str:
    """Why ``run`` cannot be accepted on ``lane_map`` ("" when it can)."""
    if not run.run_id.strip():
        return "run_id is empty"
    if run.run_id in known_ids:
        return f"run_id {run.run_id!r} already exists"
    check = iso6346.validate(run.container_number)
    if not check.valid:
        return check.reason
    for role, node_id in (("origin", run.origin), ("destination", run.destination)):
        if not lane_map.has_node(node_id):
            return f"{role} {node_id!r} is not a node of map {lane_map.name!r}"
        if lane_map.node(node_id).kind is not NodeKind.YARD:
            return f"{role} {node_id!r} is not a yard"
    if run.origin == run.destination:
        return "origin and destination are the same yard"
    try:
        lane_map.route(run.origin, run.destination)
    except NoRoute as exc:
        return str(exc)
    return ""


def accept_manifest(manifest: ManifestRecord) -> tuple[ManifestRecord | None, str]:
    """The manifest with its container number and plate normalised, or (None, why not)."""
    check = iso6346.validate(manifest.container_number)
    if not check.valid:
        fix = iso6346.propose_correction(manifest.container_number)
        hint = f"; did the reader mean {fix}?" if fix else ""
        return None, f"manifest {manifest.declaration_number!r} rejected: {check.reason}{hint}"
    try:
        plate = parse_plate(manifest.plate).normalized
    except IdentityError as exc:
        return None, f"manifest {manifest.declaration_number!r} rejected: {exc}"
    return replace(manifest, container_number=check.number, plate=plate), ""
