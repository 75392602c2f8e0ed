"""The fleet controller: the planner in the loop with real vehicles.

A pure state machine on the controller's clock (seconds, ``now_s`` on every call). Runs come in,
the planner (:mod:`corridor_core.planning`) assigns them and plans timed routes, and each truck's
route goes out as a VDA 5050 order (:mod:`corridor_core.order_feed`) whose released base grows
piece by piece, one release point at a time, only when all of these hold:

* with ``keep_plan_times``, the planned departure from the base's end has come (less
  ``release_lead_s``);
* past the checkpoint gate of a loaded trip: customs has cleared the run (no clearance, no
  crossing; the gate also carries a ``waitForTrigger`` that a ``trigger`` ends on clearance);
* before the border point (:func:`~corridor_core.planning.windows.window_blocker`): the truck
  reaches km 0 by the last entry of the window it would cross in (a piece into km 0 needs the
  window open now) and, leaving its yard, its destination by the close, on estimates from the
  plan (never below driving at the planner's pace), with an allowance for the checkpoint's
  decision while a loaded run is not cleared yet;
* interlock (:class:`~corridor_core.interlock.grants.Grants` over the simulator's
  :class:`~corridor_core.interlock.lane.LaneInterlock`): every segment of the piece may be
  entered (block direction, signal with platoon cap and phase alternation, all-clear after the
  last reported exit, room, headway) and a place is free wherever the truck will stand; what
  is released stays held until states show the truck past it.

State reports move the plan (a late truck is re-planned); a truck that drops off (last will),
falls silent, reports a FATAL error, rejects its orders or refuses a trigger leaves the plan,
keeps what it was released until a state proves where it stands or an operator clears it, and
its run fails if it was under way. Every
malformed or unexpected input becomes a :class:`Problem`, never an exception.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from corridor_core.clearance import ClearanceResult, ManifestRecord, PlateObservation, decide
from corridor_core.dispatcher import (
    ClearanceIssued,
    Problem,
    RunChanged,
    RunView,
    SendOrder,
    VehicleChanged,
    VehicleView,
    accept_manifest,
    check_run,
    view_after_state,
)
from corridor_core.fleet import Fleet
from corridor_core.interlock import Grants, LaneInterlock, following_headway_s, platoon_cap
from corridor_core.interlock.stop_lines import STOP, is_stop_line, with_stop_lines
from corridor_core.lane_map import LaneMap, NodeKind
from corridor_core.order_feed import (
    OPEN_ACTION_STATES,
    TRIGGER,
    WAIT_FOR_TRIGGER,
    OrderFeed,
    instant_action,
)
from corridor_core.planning.planner import Planner
from corridor_core.planning.router import CORRIDOR, Controller, TimedStop
from corridor_core.planning.windows import WindowCalendar, misses_last_entry_s, window_blocker
from corridor_core.runs import ContainerRun, Direction, RunState
from corridor_core.vda5050 import STATION_WORK_INFO, StateReport

# action states of an action under way at the truck's node (WAITING is one not begun yet: an
# action of a node ahead)
WORKING_ACTION_STATES = ("INITIALIZING", "RUNNING", "PAUSED")


@dataclass(frozen=True)
class SendInstantActions:
    """Send these instant actions to the truck."""

    vehicle_id: str
    actions: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Replanned:
    """Something made the plan change; for the operator's timeline."""

    vehicle_id: str
    reason: str


FleetCommand = (
    SendOrder
    | SendInstantActions
    | RunChanged
    | VehicleChanged
    | ClearanceIssued
    | Problem
    | Replanned
)


@dataclass(frozen=True)
class LinkSettings:
    """Timing of the link, in seconds of the controller's clock.

    Attributes:
        resend_after_s: an order not acknowledged by a state this long is sent again.
        release_lead_s: with ``keep_plan_times``, a piece is released this long before the
            planned departure.
        keep_plan_times: hold each piece until its planned departure. Off by default: service
            times are stochastic, so planned times drift within minutes, and the simulator
            measured that waiting for them holds trucks on stale plans; the interlocks keep
            the lane safe either way.
        silent_after_s: an online truck with no state this long leaves the plan.
        late_tolerance_s: a truck this late (arrival, or waiting for a release) is re-planned.
        trigger_retry_s: a trigger whose waitForTrigger still runs this long is sent again.
        trigger_tries: triggers sent before a waitForTrigger still running counts as refused.
        at_node_tolerance_m: a state proves a truck stands at a node within this distance.
        stop_lines: a truck without a place at the node ahead may wait in its lane of a
            two-way segment, at a stop line before the node (orders then name stop-line
            nodes, ``SEGMENT:stop:NODE``); off: it waits at the node before.
        clearance_allowance_s: a loaded truck not yet cleared leaves its yard toward the border
            only if it would reach km 0 by the last entry with this much time to spare for
            the checkpoint's decision at its gate.
        pace_weight: discount per leg of a truck's observed pace (the ratio of its recent leg
            times to the planner's, each sum discounted by 1 - this per leg); the window
            rule's driving estimates are scaled by it, so a truck slowed by what the
            controller is not told of (fog, a weak truck) is not sent toward km 0 on times it
            cannot make.
        pace_max: the observed pace is kept within 1 (never faster than planned) and this.
    """

    resend_after_s: float = 30.0
    release_lead_s: float = 5.0
    keep_plan_times: bool = False
    silent_after_s: float = 60.0
    late_tolerance_s: float = 10.0
    trigger_retry_s: float = 30.0
    clearance_allowance_s: float = 120.0
    trigger_tries: int = 3
    at_node_tolerance_m: float = 10.0
    stop_lines: bool = True
    pace_weight: float = 0.5
    pace_max: float = 3.0


@dataclass
class _Run:
    run: ContainerRun
    view: RunView
    observation: PlateObservation | None = None
    decision: ClearanceResult | None = None
    loaded: bool = False  # the truck has left the origin with the container


@dataclass
class _Truck:
    view: VehicleView
    feed: OrderFeed
    last_state_s: float = -math.inf
    last_header_id: int = -1
    out: str = ""  # why the truck is out of the plan ("" while in it)
    blocked: tuple[str, ...] = ()  # single-lane segments closed in the plan while it is out
    orders_started: int = 0
    last_replan_s: float = -math.inf
    last_cancel_s: float = -math.inf
    trigger_tries: int = 0  # triggers sent for the current waitForTrigger
    factsheet_actions: frozenset[str] | None = None  # actionTypes its factsheet lists
    needs_operator: str = ""  # it refused our orders or triggers: out until an operator clears
    held_cargo: str = ""  # a container customs held is on board (until it is back in a yard)
    # it turned back short of the border with this run's container on board (until set down)
    returning_run: str = ""
    actions: tuple[tuple[str, str], ...] = ()  # (actionId, actionStatus) of the last state
    error_levels: tuple[tuple[str, str], ...] = ()  # (errorType, errorLevel) of the last state
    driving: bool = False  # as its last state said
    station_work: bool = False  # its last state reported work at a station of its node
    leg_from: tuple[str, float] | None = None  # (node, when it was first seen driving from it)
    pace: float = 1.0  # observed leg times over the planner's (see LinkSettings.pace_weight)
    pace_sums: tuple[float, float] = (0.0, 0.0)  # discounted (observed s, planner's s)


@dataclass
class FleetController:
    """Planner, clearance and order feeds for one corridor. Drive it from one thread."""

    lane_map: LaneMap
    fleet: Fleet
    calendar: WindowCalendar = field(default_factory=WindowCalendar.always_open)
    controller: Controller = CORRIDOR
    settings: LinkSettings = field(default_factory=LinkSettings)
    counters: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.fleet_pace = 1.0  # the corridor's observed pace (see _observe_leg)
        self._fleet_pace_sums = (0.0, 0.0)
        self.real_map = self.lane_map  # the corridor as given (runs, fleet, operators)
        if self.settings.stop_lines:
            # the controller's own view: a stop line in the lane before each bounded node a
            # two-way segment leads to (see corridor_core.interlock.stop_lines)
            self.lane_map = with_stop_lines(self.lane_map)
        self.planner = Planner(self.lane_map, self.calendar, self.controller)
        self.planner.auto_release = False  # pieces are released when the feed sends them
        self.planner.early_tolerance_s = math.inf  # early trucks wait at their base's end
        self.planner.late_tolerance_s = self.settings.late_tolerance_s
        self._trucks = {
            t.serial: _Truck(
                VehicleView(t.serial, t.plate, last_node_id=t.home_node), OrderFeed(t.serial)
            )
            for t in self.fleet.trucks
        }
        self._runs: dict[str, _Run] = {}
        self._open: set[str] = set()  # ids of the runs whose state is not final (see _set)
        self._manifests: dict[str, ManifestRecord] = {}
        vehicle = self.lane_map.vehicle_class()
        self.lane = LaneInterlock(self.lane_map, vehicle.length_m)
        self._single, self._border = self.lane.single, self.lane.border
        self.lane.set_platoon_caps(
            {s: platoon_cap(self.lane_map, s, self.controller.platoon_cap) for s in self._single}
        )
        self.grants = Grants(self.lane, self.lane_map)
        self._headway_s = {
            seg.segment_id: following_headway_s(
                self.lane_map,
                seg.segment_id,
                vehicle.length_m,
                min(seg.speed_limit_kph, vehicle.max_speed_kph) / 3.6,
            )
            for seg in self.lane_map.segments
        }

    # --- queries ---------------------------------------------------------------------------
    def run(self, run_id: str) -> RunView | None:
        """The current view of a run, or None."""
        entry = self._runs.get(run_id)
        return entry.view if entry else None

    def runs(self) -> list[RunView]:
        """All runs, ordered by id."""
        return [self._runs[k].view for k in sorted(self._runs)]

    def open_runs(self) -> list[RunView]:
        """The views of the runs not yet in a final state, by run id."""
        return [self._runs[k].view for k in sorted(self._open)]

    def vehicle(self, vehicle_id: str) -> VehicleView | None:
        """The current view of a truck, or None."""
        truck = self._trucks.get(vehicle_id)
        return truck.view if truck else None

    def feed(self, vehicle_id: str) -> OrderFeed:
        """The order stream of a truck."""
        return self._trucks[vehicle_id].feed

    def in_plan(self, vehicle_id: str) -> bool:
        """True while the planner counts on the truck."""
        return vehicle_id in self.planner.trucks

    def closures(self, vehicle_id: str) -> tuple[str, ...]:
        """What a truck out of the plan still holds of the lane: the segments it may be on,
        then the nodes where it holds a place; () for a truck in the plan (what it holds is
        its released base) or one that holds nothing."""
        if vehicle_id in self.planner.trucks or vehicle_id not in self._trucks:
            return ()
        segments = self.grants.held_segments(vehicle_id)
        nodes = [n for n in self.grants.held_nodes(vehicle_id) if not self.lane.places.unbounded(n)]
        return (*segments, *nodes)

    # --- operator events on trucks ---------------------------------------------------------
    def clear_vehicle(
        self, vehicle_id: str, reason: str, operator: str, now_s: float
    ) -> tuple[bool, str, list[FleetCommand]]:
        """An operator accounts for a truck out of the plan (towed away, seen standing): it
        gives back every segment and place it held, and the lane reopens. The reason and the
        operator are required and go into the command stream."""
        truck = self._trucks.get(vehicle_id)
        if truck is None:
            return False, f"unknown truck {vehicle_id!r}", []
        if not reason.strip() or not operator.strip():
            return False, "clearing a truck needs a reason and an operator", []
        held = ", ".join(self.closures(vehicle_id))
        if not held and not truck.needs_operator:
            return False, f"truck {vehicle_id} holds nothing out of the plan to clear", []
        if truck.needs_operator:
            held = f"{held}; {truck.needs_operator}" if held else truck.needs_operator
            truck.needs_operator = ""
            truck.out = ""  # it rejoins at its next idle state
        self.grants.release(vehicle_id, now_s)
        for segment in truck.blocked:
            self.planner.unblock_segment(segment, now_s)
        truck.blocked = ()
        self.counters["operator_clears"] += 1
        text = f"cleared by {operator}: {reason} (gives back {held})"
        return True, "cleared", [Replanned(vehicle_id, text), *self._sync(now_s)]

    # --- operator events -------------------------------------------------------------------
    def submit(self, run: ContainerRun, now_s: float) -> tuple[bool, str, list[FleetCommand]]:
        """Accept or reject a new run. Returns (accepted, message, commands).

        Submitting a run identical to one already accepted (same id and fields) is accepted
        again and changes nothing: a client that got no answer may safely send it again. The
        same id with other fields is rejected.
        """
        known = self._runs.get(run.run_id)
        if known is not None and known.run == run:
            return True, "already accepted (identical re-submission)", []
        problem = check_run(self.lane_map, run, set(self._runs))
        if problem:
            return False, problem, [Problem(f"run {run.run_id!r} rejected: {problem}")]
        view = RunView(run.run_id, run.container_number, RunState.SUBMITTED)
        self._runs[run.run_id] = _Run(run, view)
        self._open.add(run.run_id)
        # Planned as if cleared: the truck drives to the checkpoint gate and waits there for
        # the decision; the base never extends past that gate before it (see _may_release).
        self.planner.add_run(run, now_s, cleared_s=now_s)
        return True, "accepted", [RunChanged(view), *self._sync(now_s)]

    def cancel(
        self, run_id: str, reason: str, now_s: float
    ) -> tuple[bool, str, list[FleetCommand]]:
        """Cancel a run whose container has not left its origin yard."""
        entry = self._runs.get(run_id)
        if entry is None:
            return False, f"unknown run {run_id!r}", []
        if entry.view.state.final or entry.loaded:
            why = "is under way" if entry.loaded else f"is {entry.view.state.name}"
            return False, f"run {run_id!r} {why} and cannot be cancelled", []
        self.planner.withdraw_run(run_id, now_s)
        commands: list[FleetCommand] = [self._set(entry, RunState.CANCELLED, reason=reason)]
        return True, "cancelled", commands + self._sync(now_s)

    # --- checkpoint events -----------------------------------------------------------------
    def on_manifest(self, manifest: ManifestRecord, now_s: float) -> list[FleetCommand]:
        """Customs data for a container; decides runs whose plate was read already."""
        record, problem = accept_manifest(manifest)
        if record is None:
            return [Problem(problem)]
        self._manifests[record.container_number] = record
        commands: list[FleetCommand] = []
        for entry in sorted(self._runs.values(), key=lambda e: e.run.run_id):
            if entry.observation is not None and entry.decision is None:
                commands += self._decide(entry, now_s)
        return commands + self._sync(now_s)

    def on_plate_read(self, observation: PlateObservation, now_s: float) -> list[FleetCommand]:
        """A truck presented itself at a checkpoint lane."""
        truck = self.fleet.by_plate(observation.plate)
        if truck is None:
            return [
                Problem(
                    f"plate read {observation.plate!r} at lane {observation.lane_id!r} "
                    f"(transaction {observation.transaction_id!r}) matches no truck of the fleet"
                )
            ]
        entry = next(
            (
                e
                for e in (self._runs[k] for k in sorted(self._open))
                if e.view.vehicle_id == truck.serial
                and e.decision is None
                and e.view.state >= RunState.ASSIGNED
            ),
            None,
        )
        if entry is None:
            return [
                Problem(
                    f"plate read {observation.plate!r}: truck {truck.serial} has no run "
                    "awaiting clearance"
                )
            ]
        entry.observation = observation
        return self._decide(entry, now_s) + self._sync(now_s)

    def _decide(self, entry: _Run, now_s: float) -> list[FleetCommand]:
        assert entry.observation is not None
        manifest = self._manifests.get(entry.run.container_number)
        if manifest is None:
            return []  # wait for customs data; the plate read is kept
        truck = self.fleet.by_serial(entry.view.vehicle_id)
        assert truck is not None
        result = decide(entry.run.container_number, truck.plate, entry.observation, manifest)
        entry.decision = result
        issued = ClearanceIssued(
            entry.run.run_id,
            entry.run.container_number,
            truck.serial,
            entry.observation.plate,
            result,
        )
        if result.cleared:
            return [issued, self._set(entry, RunState.CLEARED)]
        if entry.loaded:  # the container is on the truck: it goes back to its yard first
            self._trucks[truck.serial].held_cargo = entry.run.container_number
            state = self.planner.trucks.get(truck.serial)
            if state is not None:
                state.return_to = entry.run.origin
        self.planner.withdraw_run(entry.run.run_id, now_s)
        return [
            issued,
            self._set(entry, RunState.HELD, reason="; ".join(result.reasons)),
            Replanned(truck.serial, f"run {entry.run.run_id} held: truck leaves the checkpoint"),
        ]

    # --- vehicle events --------------------------------------------------------------------
    def on_connection(self, serial: str, state: str, now_s: float) -> list[FleetCommand]:
        """A truck's connection topic (ONLINE / OFFLINE / CONNECTIONBROKEN)."""
        truck = self._trucks.get(serial)
        if truck is None:
            return [Problem(f"connection from unknown truck {serial!r} ignored")]
        old = truck.view
        truck.view = replace(old, connection=state)
        commands: list[FleetCommand] = [VehicleChanged(truck.view)] if truck.view != old else []
        if state != "ONLINE":
            commands += self._take_out(serial, f"connection {state}", now_s)
        else:
            truck.last_state_s = now_s
            commands += self.request_state(serial)
        return commands + self._sync(now_s)

    def request_state(self, serial: str) -> list[FleetCommand]:
        """Ask a truck for its state and its factsheet now (on ONLINE, and by the link after it
        subscribed again), so the controller never acts on a stale picture of it."""
        if serial not in self._trucks:
            return []
        self.counters["state_requests"] += 1
        n = self.counters["state_requests"]
        actions = (
            instant_action(f"{serial}-state-{n}", "stateRequest"),
            instant_action(f"{serial}-factsheet-{n}", "factsheetRequest"),
        )
        return [SendInstantActions(serial, actions)]

    def on_factsheet(
        self, serial: str, action_types: frozenset[str], now_s: float
    ) -> list[FleetCommand]:
        """A truck's factsheet: the action types it supports. A truck without
        ``waitForTrigger`` can never be held at a checkpoint gate, so it is given no run."""
        truck = self._trucks.get(serial)
        if truck is None:
            return [Problem(f"factsheet from unknown truck {serial!r} ignored")]
        truck.factsheet_actions = action_types
        if WAIT_FOR_TRIGGER not in action_types:
            return [
                Problem(f"truck {serial}'s factsheet lacks {WAIT_FOR_TRIGGER}: given no run"),
                *self._take_out(serial, f"fault: factsheet lacks {WAIT_FOR_TRIGGER}", now_s),
            ]
        return []

    def on_state(self, report: StateReport, now_s: float) -> list[FleetCommand]:
        """A truck's VDA 5050 state."""
        truck = self._trucks.get(report.serial)
        if truck is None or report.manufacturer != self.fleet.manufacturer:
            return [
                Problem(f"state from unknown truck {report.manufacturer}/{report.serial} ignored")
            ]
        if report.header_id <= truck.last_header_id and report.header_id != 0:
            self.counters["stale_states"] += 1
            return [
                Problem(
                    f"stale state from {report.serial}: headerId {report.header_id} "
                    f"after {truck.last_header_id}, ignored"
                )
            ]
        truck.last_header_id = report.header_id
        truck.last_state_s = now_s
        old = truck.view
        truck.view = view_after_state(old, report)
        commands: list[FleetCommand] = [VehicleChanged(truck.view)] if truck.view != old else []
        truck.feed.on_state(report)
        truck.driving = report.driving
        truck.station_work = any(t in STATION_WORK_INFO for t in report.information_types)
        commands += self._on_errors(report, now_s)
        serial = report.serial
        if serial not in self.planner.trucks:
            commands += self._account(serial, report, now_s)
        if truck.view.connection != "ONLINE" or truck.out.startswith("fault"):
            return commands + self._sync(now_s)
        if serial not in self.planner.trucks:
            if report.operating_mode in ("AUTOMATIC", "SEMIAUTOMATIC") and not report.driving:
                busy = any(st in OPEN_ACTION_STATES for _, st in report.action_states)
                idle = not report.pending_node_ids and not busy
                accounted = set(self.closures(serial)) <= {report.last_node_id}
                if idle and (accounted or self._proven_at(report)):
                    commands += self._bring_in(serial, report.last_node_id, now_s)
                elif not idle and now_s - truck.last_cancel_s > self.settings.resend_after_s:
                    # it still holds an order we no longer drive: cancel it, then take it in
                    truck.last_cancel_s = now_s
                    commands.append(self._cancel_order(serial))
        elif report.last_node_id and report.last_node_id != old.last_node_id:
            self._observe_leg(truck, old.last_node_id, report.last_node_id, now_s)
            self.grants.passed(serial, report.last_node_id, now_s)
            commands += self._progress(serial, report.last_node_id, now_s)
        if report.driving and serial in self.planner.trucks:
            self.grants.departed(serial, report.last_node_id)
        if report.driving and (truck.leg_from is None or truck.leg_from[0] != report.last_node_id):
            truck.leg_from = (report.last_node_id, now_s)
        elif not report.driving:
            truck.leg_from = None
        return commands + self._sync(now_s)

    def _observe_leg(self, truck: _Truck, a: str, b: str, now_s: float) -> None:
        """The truck drove from node ``a`` to ``b``: fold the leg into its pace, the ratio of
        its recent leg times to the planner's, each sum discounted by ``pace_weight`` per leg
        (so a long leg counts more than a short part at a stop line). A leg it was not seen
        leaving (no driving state at ``a``) is skipped."""
        start = truck.leg_from
        truck.leg_from = (b, now_s)  # it may roll on; a standing state clears it
        known = self.lane_map.has_node(a) and self.lane_map.has_node(b)
        if start is None or start[0] != a or not known:
            return
        nominal_s = sum(self.planner.router.traversal_s(leg) for leg in self.planner.route(a, b))
        if nominal_s <= 0:
            return
        keep, took_s = 1.0 - self.settings.pace_weight, now_s - start[1]
        truck.pace_sums = (
            keep * truck.pace_sums[0] + took_s,
            keep * truck.pace_sums[1] + nominal_s,
        )
        truck.pace = self._bounded_pace(truck.pace_sums)
        # the corridor's pace too: what slows every truck (fog) shows first on the others
        fleet = self._fleet_pace_sums
        self._fleet_pace_sums = (keep * fleet[0] + took_s, keep * fleet[1] + nominal_s)
        self.fleet_pace = self._bounded_pace(self._fleet_pace_sums)

    def _bounded_pace(self, sums: tuple[float, float]) -> float:
        return min(self.settings.pace_max, max(1.0, sums[0] / sums[1]))

    def _pace(self, serial: str) -> float:
        """The pace the window rule scales a truck's driving estimates by: its own, or the
        corridor's when that is slower."""
        return max(self._trucks[serial].pace, self.fleet_pace)

    def _proven_at(self, report: StateReport) -> bool:
        """The state proves the truck stands at its last node: not driving, nothing left of
        its order, and its position within the tolerance of that node."""
        if (
            report.driving
            or report.pending_node_ids
            or not self.lane_map.has_node(report.last_node_id)
        ):
            return False
        return self._at_node(report.x_m, report.y_m, report.last_node_id)

    def _at_node(self, x_m: float, y_m: float, node_id: str) -> bool:
        """Is position (``x_m``, ``y_m``) within ``at_node_tolerance_m`` of node ``node_id``?"""
        node = self.lane_map.node(node_id)
        return math.hypot(x_m - node.x_m, y_m - node.y_m) <= self.settings.at_node_tolerance_m

    def _account(self, serial: str, report: StateReport, now_s: float) -> list[FleetCommand]:
        """A truck out of the plan reported: what lies behind it is given back; proven
        standing at a node, it keeps only its place there and the lane reopens."""
        truck = self._trucks[serial]
        before = self.closures(serial)
        if report.last_node_id:
            self.grants.passed(serial, report.last_node_id, now_s)
            if report.driving:
                self.grants.departed(serial, report.last_node_id)
        if self._proven_at(report) and serial in self.grants.path:
            self.grants.stand(serial, report.last_node_id, now_s)
        held = set(self.grants.held_segments(serial))
        reopened = [seg for seg in truck.blocked if seg not in held]
        for segment in reopened:
            self.planner.unblock_segment(segment, now_s)
        truck.blocked = tuple(seg for seg in truck.blocked if seg in held)
        after = self.closures(serial)
        if after != before:
            where = ", ".join(after) or "nothing"
            return [Replanned(serial, f"reported at {report.last_node_id}: holds {where}")]
        return []

    def tick(self, now_s: float) -> list[FleetCommand]:
        """Periodic: silent trucks, re-sends, trigger retries, releases, dispatch."""
        commands: list[FleetCommand] = []
        for serial, truck in sorted(self._trucks.items()):
            silent = now_s - truck.last_state_s > self.settings.silent_after_s
            if truck.view.connection == "ONLINE" and silent and serial in self.planner.trucks:
                commands += self._take_out(serial, "silent: no state", now_s)
            commands += self._resend_or_handle(serial, now_s)
        self.planner.tick(now_s)
        return commands + self._sync(now_s)

    def set_calendar(self, calendar: WindowCalendar, now_s: float) -> list[FleetCommand]:
        """The agreement's windows changed (a new agreement, or its calendar extended): plan
        on ``calendar`` from ``now_s`` without a restart.

        Released bases stay as they are; every further piece is checked against the new
        calendar. An open run whose crossing no longer fits the window in force keeps its state
        and is published again with the reason ``waits for the next window (opens in H h)``
        (``no ... window left in the agreement's calendar`` when none comes; prefixed with
        ``on the lane before km 0;`` when its truck has left the yard already); a run that
        fits again loses that reason.
        """
        self.calendar = calendar
        self.planner.set_calendar(calendar, now_s)
        commands = self._sync(now_s)
        for entry in sorted(self._runs.values(), key=lambda e: e.run.run_id):
            if entry.view.state.final:
                continue
            reason = self._window_reason(entry, now_s)
            if reason != entry.view.reason:
                commands.append(self._set(entry, entry.view.state, reason=reason))
        return commands

    # --- internals: plan membership --------------------------------------------------------
    def _bring_in(self, serial: str, node: str, now_s: float) -> list[FleetCommand]:
        truck = self._trucks[serial]
        if not node or not self.lane_map.has_node(node):
            return [Problem(f"truck {serial} reports unknown node {node!r}; kept out of the plan")]
        actions = truck.factsheet_actions
        if actions is not None and WAIT_FOR_TRIGGER not in actions:
            return []  # its factsheet lacks waitForTrigger (see on_factsheet)
        for segment in truck.blocked:
            self.planner.unblock_segment(segment, now_s)
        truck.blocked, truck.out = (), ""
        self.grants.stand(serial, node, now_s)  # it stands there, with nothing released
        truck.feed = OrderFeed(serial)  # a truck back in the plan starts a fresh order
        truck.trigger_tries = 0
        self.planner.add_truck(serial, node, now_s)
        return [Replanned(serial, f"joins the plan at {node}")]

    def _take_out(self, serial: str, why: str, now_s: float) -> list[FleetCommand]:
        truck = self._trucks[serial]
        if serial not in self.planner.trucks:
            truck.out = truck.out or why
            return []
        state = self.planner.trucks[serial]
        commands: list[FleetCommand] = []
        for entry in self._runs.values():
            mine = entry.view.vehicle_id == serial and not entry.view.state.final
            if mine and entry.loaded:
                commands.append(self._fail(entry, f"truck {serial} {why}", now_s))
        node = state.node
        # It keeps every segment and place of its released base (the grants) until a state
        # proves where it is or an operator clears it; the plan routes around its blocks.
        self.planner.remove_truck(serial, now_s)
        blocked = sorted(set(self.grants.held_segments(serial)) & self._single)
        for segment in blocked:
            self.planner.block_segment(segment, now_s, reason=f"truck {serial} {why}")
        truck.blocked, truck.out = tuple(blocked), why
        self.counters["taken_out"] += 1
        held = ", ".join(self.closures(serial))
        where = f"; keeps {held}" if held else ""
        closes = f"; closes {', '.join(blocked)}" if blocked else ""
        return [*commands, Replanned(serial, f"{why}: leaves the plan at {node}{where}{closes}")]

    def _on_errors(self, report: StateReport, now_s: float) -> list[FleetCommand]:
        """FATAL errors take the truck out of the plan; order rejections are handled when the
        re-send falls due (see :meth:`tick`), so a stale error never passes for a rejection."""
        truck = self._trucks[report.serial]
        truck.error_levels = report.error_levels
        truck.actions = report.action_states
        if any(level == "FATAL" for _, level in report.error_levels):
            if truck.out.startswith("fault"):
                return []
            text = "; ".join(report.errors)
            commands = self._take_out(report.serial, f"fault: {text}", now_s)
            truck.out = f"fault: {text}"
            return commands
        if truck.out.startswith("fault") and not report.errors and not truck.needs_operator:
            truck.out = ""  # fault cleared; it rejoins on its next idle state
        return []

    def _resend_or_handle(self, serial: str, now_s: float) -> list[FleetCommand]:
        truck = self._trucks[serial]
        feed = truck.feed
        body = feed.resend_due(now_s, self.settings.resend_after_s)
        if body is None or truck.view.connection != "ONLINE":
            return []
        rejected = [t for t, _ in truck.error_levels if t in REJECTIONS]
        if rejected:
            kind = rejected[0]
            self.counters[f"rejected_{kind}"] += 1
            text = "; ".join(truck.view.errors)
            commands: list[FleetCommand] = [
                Problem(f"truck {serial} refused order {feed.order_id}: {text}")
            ]
            return commands + REJECTIONS[kind](self, serial, now_s)
        self.counters["resends"] += 1
        return [SendOrder(serial, body)]

    def _reject_resync(self, serial: str, now_s: float) -> list[FleetCommand]:
        """The truck holds another order or another update: cancel it and start afresh."""
        truck = self._trucks[serial]
        truck.feed.acked = True  # stop re-sending what was refused
        commands = self._take_out(serial, "order refused; resynchronising", now_s)
        truck.out = ""  # it rejoins at its next idle state, after a cancelOrder
        return commands

    def _reject_fault(self, serial: str, now_s: float) -> list[FleetCommand]:
        """The truck cannot take our orders (invalid for it, wrong place): out until it can."""
        truck = self._trucks[serial]
        truck.feed.acked = True
        commands = self._take_out(serial, "fault: refuses orders", now_s)
        truck.out = truck.needs_operator = "fault: refuses orders"
        return commands

    # --- internals: progress and release ---------------------------------------------------
    def _progress(self, serial: str, node: str, now_s: float) -> list[FleetCommand]:
        state = self.planner.trucks[serial]
        commands: list[FleetCommand] = []
        trip = state.trips[0] if state.trips else None
        if self.lane_map.node(node).kind is NodeKind.YARD:
            self._trucks[serial].held_cargo = ""  # set down in the yard
            back = self._runs.get(self._trucks[serial].returning_run)
            if back is not None and node == back.run.origin:
                self._trucks[serial].returning_run = ""
                back.loaded = False  # set down where it started: the run waits again
                if not back.view.state.final:
                    reason = f"turned back; {back.run.container_number} is back in {node}"
                    commands.append(
                        self._set(back, RunState.SUBMITTED, vehicle_id="", reason=reason)
                    )
        if trip and trip.run_id and trip.run_id in self._runs:
            entry = self._runs[trip.run_id]
            if node != trip.stops[0].node_id and not entry.loaded:
                entry.loaded = True
            if entry.view.state in (RunState.CLEARED, RunState.DISPATCHED, RunState.IN_PROGRESS):
                commands.append(self._set(entry, RunState.IN_PROGRESS, last_node_id=node))
        planned = (
            next((s.arrive_s for s in trip.stops[state.position :] if s.node_id == node), None)
            if trip
            else None
        )
        self.planner.report_position(serial, node, now_s)
        if planned is not None and now_s - planned > self.settings.late_tolerance_s:
            commands.append(Replanned(serial, f"{now_s - planned:.0f} s late at {node}"))
        return commands

    def _sync(self, now_s: float) -> list[FleetCommand]:
        """Bring run views and order feeds in line with the plan."""
        commands = self._sync_runs()
        for serial in sorted(self.planner.trucks):
            if self._trucks[serial].view.connection == "ONLINE":
                commands += self._sync_feed(serial, now_s)
        return commands

    def _sync_runs(self) -> list[FleetCommand]:
        commands: list[FleetCommand] = []
        for run_id in sorted(self._open):  # (not every run ever seen: a long day has many)
            rec = self.planner.runs.get(run_id)
            if rec is None:
                continue
            entry = self._runs[run_id]
            if rec.done:
                commands.append(
                    self._set(entry, RunState.COMPLETED, last_node_id=entry.run.destination)
                )
            elif rec.truck and rec.truck != entry.view.vehicle_id:
                entry.observation = entry.decision = None  # a clearance is for one truck
                commands.append(self._set(entry, RunState.ASSIGNED, vehicle_id=rec.truck))
            elif not rec.truck and entry.view.vehicle_id and not entry.loaded:
                entry.observation = entry.decision = None
                commands.append(self._set(entry, RunState.SUBMITTED, vehicle_id=""))
        return commands

    def _sync_feed(self, serial: str, now_s: float) -> list[FleetCommand]:
        truck = self._trucks[serial]
        state = self.planner.trucks[serial]
        feed = truck.feed
        if not state.trips:
            return []
        trip = state.trips[0]
        stops = [s.node_id for s in trip.stops]
        commands: list[FleetCommand] = []
        same = (
            feed.active
            and feed.run_id == trip.run_id
            and tuple(stops[: feed.released + 1]) == feed.stops[: feed.released + 1]
        )
        if not same:
            if feed.active and truck.view.last_node_id != feed.stops[feed.released]:
                return []  # still driving the old base: the new order waits for its end
            if feed.active and feed.fully_released and feed.unloading(truck.actions):
                return []  # under the crane: the next order follows the drop
            open_actions = any(st in OPEN_ACTION_STATES for _, st in truck.actions)
            if feed.active and (not feed.fully_released or open_actions):
                # the old order still has a horizon or a running action: cancel it first
                commands.append(self._cancel_order(serial))
                feed.stops = ()  # nothing of it is driven any more
            if truck.view.last_node_id != stops[0]:
                return commands  # the plan starts elsewhere; wait for the truck's report
            truck.orders_started += 1
            order_id = f"{serial}-{truck.orders_started:04d}" + (
                f"-{trip.run_id}" if trip.run_id else "-empty"
            )
            entry = self._runs.get(trip.run_id) if trip.run_id else None
            back = None if trip.run_id else self._runs.get(truck.returning_run)
            carried = entry or back
            body = feed.start(
                self.lane_map,
                order_id,
                trip.run_id,
                stops,
                state.released,
                self._wait_index(trip.run_id, stops),
                now_s,
                load_id=carried.run.container_number if carried else "",
                pick=entry is not None and not entry.loaded and stops[0] == entry.run.origin,
                drop=(entry is not None and stops[-1] == entry.run.destination)
                or (back is not None and stops[-1] == back.run.origin),
            )
            commands.append(SendOrder(serial, body))
            commands += self._mark_dispatched(trip.run_id, order_id)
            return commands  # its first release follows the truck's acknowledgement
        if feed.wait_index is None and trip.run_id:
            # the order was started on a trip held short of its gate: when the trip grows past
            # the gate, its clearance wait goes in with the piece that reaches it
            wait = self._wait_index(trip.run_id, stops)
            if wait is not None and wait > feed.released:
                feed.wait_index = wait
        commands += self._trigger(serial, now_s)
        if serial not in self.planner.trucks:
            return commands  # it refused the trigger and left the plan
        commands += self._release(serial, trip.stops, now_s)
        return commands

    def _wait_index(self, run_id: str, stops: list[str]) -> int | None:
        if not run_id:
            return None
        for i, node in enumerate(stops[1:], start=1):
            if node in self._border:
                return None
            if self.lane_map.node(node).kind is NodeKind.GATE:
                return i
        return None

    def _mark_dispatched(self, run_id: str, order_id: str) -> list[FleetCommand]:
        entry = self._runs.get(run_id) if run_id else None
        if entry is None:
            return []
        if entry.view.state in (RunState.ASSIGNED, RunState.SUBMITTED):
            return [self._set(entry, RunState.DISPATCHED, order_id=order_id)]
        return [self._set(entry, entry.view.state, order_id=order_id)]

    def _cleared(self, run_id: str, serial: str) -> bool:
        """Customs cleared this run for this truck (a clearance is for one truck and one open
        run: never for another truck, never for a run that has ended)."""
        entry = self._runs.get(run_id)
        return (
            entry is not None
            and not entry.view.state.final
            and entry.view.vehicle_id == serial
            and entry.decision is not None
            and entry.decision.cleared
        )

    def _trigger(self, serial: str, now_s: float) -> list[FleetCommand]:
        truck = self._trucks[serial]
        feed = truck.feed
        if feed.wait_index is None or not self._cleared(feed.run_id, serial):
            return []
        if feed.released < feed.wait_index:
            return []
        waiting = any(
            a == feed.wait_action_id and s in OPEN_ACTION_STATES for a, s in truck.actions
        )
        first = math.isinf(feed.triggered_at_s)
        retry = waiting and now_s - feed.triggered_at_s >= self.settings.trigger_retry_s
        refused = self._trigger_refused(serial)
        if refused or (retry and truck.trigger_tries >= self.settings.trigger_tries):
            why = refused or f"{truck.trigger_tries} triggers left its waitForTrigger running"
            return self._refuse_trigger(serial, why, now_s)
        if not (first or retry):
            return []
        truck.trigger_tries += 1
        feed.triggered_at_s = now_s
        self.counters["triggers"] += 1
        action = instant_action(
            f"{feed.order_id}:trigger:{self.counters['triggers']}",
            TRIGGER,
            actionId=feed.wait_action_id,
        )
        return [SendInstantActions(serial, (action,))]

    def _trigger_refused(self, serial: str) -> str:
        """Why the truck's last state shows our trigger refused ("" when it does not): the
        trigger or its waitForTrigger FAILED."""
        truck = self._trucks[serial]
        wait = truck.feed.wait_action_id
        for action_id, status in truck.actions:
            if status != "FAILED":
                continue
            if action_id == wait or action_id.startswith(f"{truck.feed.order_id}:trigger:"):
                errors = "; ".join(truck.view.errors) or "no error given"
                return f"action {action_id} FAILED ({errors})"
        return ""

    def _refuse_trigger(self, serial: str, why: str, now_s: float) -> list[FleetCommand]:
        """The truck does not end its waitForTrigger on our trigger: it leaves the plan as a
        fault (it gets no run until it rejoins fault-free), its run fails with the truck's
        error, and it keeps what it holds until it is proven standing."""
        self.counters["trigger_refused"] += 1
        truck = self._trucks[serial]
        run_id = truck.feed.run_id
        commands: list[FleetCommand] = [Problem(f"truck {serial} refused trigger: {why}")]
        entry = self._runs.get(run_id)
        if entry is not None and not entry.view.state.final:
            commands.append(self._fail(entry, f"truck {serial} refused trigger: {why}", now_s))
        truck.feed.wait_index = None  # nothing more to trigger on this order
        commands += self._take_out(serial, f"fault: refused trigger: {why}", now_s)
        truck.out = truck.needs_operator = f"fault: refused trigger: {why}"
        # it stops at its next node and drops the order; once a state shows it standing, it
        # keeps only its place there (see _account)
        return [*commands, self._cancel_order(serial)]

    def _release(
        self, serial: str, stops: tuple[TimedStop, ...], now_s: float
    ) -> list[FleetCommand]:
        truck = self._trucks[serial]
        state = self.planner.trucks[serial]
        feed = truck.feed
        node_ids = [s.node_id for s in stops]
        nxt = self.planner.next_release_index(serial)
        if nxt is None or feed.released != state.released:
            return []
        base_end = stops[state.released]
        too_late = self._turn_back_reason(serial, stops, state.released, now_s)
        if too_late:
            turned = self._turn_back(serial, stops[0].node_id, too_late, now_s)
            if turned:
                return turned
        if not self._ready_for(serial, base_end.node_id, node_ids[state.released + 1]):
            return []
        blocked_by = self._release_blocker(serial, stops, state.released, nxt, now_s)
        if blocked_by:
            late = now_s - base_end.depart_s
            if (
                late > self.settings.late_tolerance_s
                and now_s - truck.last_replan_s > self.settings.late_tolerance_s
                and truck.view.last_node_id == base_end.node_id
                and blocked_by != "not yet"
            ):
                truck.last_replan_s = now_s
                self.planner.report_position(serial, base_end.node_id, now_s)
                return [Replanned(serial, f"waits at {base_end.node_id}: {blocked_by}")]
            return []
        start = state.released
        nxt = self._roll_on(serial, stops, start, nxt, now_s)
        if not self._may_end_at(serial, node_ids, nxt):
            return []  # it would stop between two blocks where it could be trapped: not yet
        self.planner.release_through(serial, nxt)
        direction = self.planner.trucks[serial].trips[0].direction
        self.grants.grant(serial, direction, node_ids[start : nxt + 1], now_s)
        self.counters["releases"] += 1
        return [SendOrder(serial, feed.extend(self.lane_map, node_ids, nxt, now_s))]

    def _turn_back_reason(
        self, serial: str, stops: tuple[TimedStop, ...], start: int, now_s: float
    ) -> str:
        """Why the truck, standing at stop ``start`` on the lane short of the border on a trip
        from a yard, must turn back ("" when it need not): it would reach km 0 after the last
        entry of the window open now (:func:`misses_last_entry_s`, on the estimate the release
        rule uses, with the clearance allowance while customs has not decided), so it may not
        cross in this window and must be off the lane by its close."""
        truck = self._trucks[serial]
        here = stops[start].node_id
        if truck.driving or truck.view.last_node_id != here:
            return ""
        if not self._at_node(truck.view.x_m, truck.view.y_m, here):
            return ""  # stopped on the edge after it (stalled, no position): not there
        if self.lane_map.node(here).kind is NodeKind.YARD:
            return ""  # in a yard it waits for the next window
        if self.lane_map.node(stops[0].node_id).kind is not NodeKind.YARD:
            return ""  # no yard behind it to go back to
        direction = self.planner.trucks[serial].trips[0].direction
        span = self.calendar.interval_at(direction, now_s)
        if span is None or math.isinf(span.last_entry_s):
            return ""  # no last entry to miss now (checked first: this runs on every release)
        nodes = [s.node_id for s in stops]
        border = next((i for i, n in enumerate(nodes) if n in self._border), None)
        if border is None or start >= border:
            return ""
        to_border_s = self._ahead_s(stops, start, border, direction, self._pace(serial))
        feed = truck.feed
        deciding = feed.wait_index is not None and start <= feed.wait_index
        if deciding and not self._cleared(feed.run_id, serial):
            to_border_s += self.settings.clearance_allowance_s
        late_s = misses_last_entry_s(self.calendar, direction, now_s, to_border_s)
        if late_s is None:
            return ""
        return f"would reach km 0 {late_s:.0f} s after the last entry"

    def _turn_back(self, serial: str, yard: str, why: str, now_s: float) -> list[FleetCommand]:
        """Send the truck back to ``yard`` (its trip's start), its container with it: the run
        goes back to the pool once the container is set down there (at once for an empty
        trip). Nothing when no trip back can be planned now (it is tried again)."""
        truck = self._trucks[serial]
        state = self.planner.trucks[serial]
        trip = state.trips[0]
        here = trip.stops[state.position].node_id
        entry = self._runs.get(trip.run_id) if trip.run_id else None
        with_run = entry is not None and entry.loaded
        if not self.planner.turn_back(serial, yard, now_s, with_run):
            return []
        self.counters["turned_back"] += 1
        commands: list[FleetCommand] = [Replanned(serial, f"turns back at {here} to {yard}: {why}")]
        if entry is not None and with_run:
            truck.returning_run = entry.run.run_id
            cargo = entry.run.container_number
            reason = f"turned back at {here}: {why}; {cargo} goes back to {yard}"
            commands.append(self._set(entry, entry.view.state, reason=reason))
        return commands

    def _roll_on(
        self, serial: str, stops: tuple[TimedStop, ...], start: int, end: int, now_s: float
    ) -> int:
        """The end of the piece to release from ``start``: ``end``, or further on through the
        release points after it where the truck need not stand (no station, not the border
        point, not a yard), when the longer piece may be released now too. The truck then rolls
        through them as the simulator's trucks do, instead of stopping at each and holding a
        place there."""
        direction = self.planner.trucks[serial].trips[0].direction
        last = len(stops) - 1
        while end < last and not self.lane.must_stand(stops[end].node_id, direction):
            further = next((i for i in range(end + 1, last) if stops[i].release_point), last)
            if self._release_blocker(serial, stops, start, further, now_s):
                break
            end = further
        return end

    def _may_end_at(self, serial: str, node_ids: list[str], end: int) -> bool:
        """May a released base end at stop ``end`` (see :meth:`LaneInterlock.may_stop_between`)?"""
        if end <= 0 or end >= len(node_ids) - 1:
            return True
        if is_stop_line(node_ids[end]) and not node_ids[end].endswith(STOP + node_ids[end + 1]):
            return False  # the other direction's stop line: it rolls on past it
        direction = self.planner.trucks[serial].trips[0].direction
        before = self.grants.segment(node_ids[end - 1], node_ids[end])
        after = self.grants.segment(node_ids[end], node_ids[end + 1])
        return self.lane.may_stop_between(node_ids[end], direction, before, after)

    def _ready_for(self, serial: str, node: str, after: str) -> bool:
        """Is the truck ready for a piece from ``node`` (its base's end) on to ``after``? A
        piece is the truck's from its release on, so it is released when the truck can use it
        at once: the truck stands at ``node`` with its work there done (no station work, no
        order action still open), or it is still driving toward ``node`` and the piece starts
        on a two-way segment (it may hold a place ahead, but no block)."""
        truck = self._trucks[serial]
        here = truck.view.last_node_id == node
        if truck.driving or not here:
            return self.grants.segment(node, after) not in self._single
        working = any(st in WORKING_ACTION_STATES for _, st in truck.actions)
        return not (truck.station_work or working)

    def _release_blocker(
        self, serial: str, stops: tuple[TimedStop, ...], start: int, end: int, now_s: float
    ) -> str:
        """Why stops ``start..end`` may not be released now ("" when they may)."""
        feed = self._trucks[serial].feed
        trip = self.planner.trucks[serial].trips[0]
        if (
            self.settings.keep_plan_times
            and now_s < stops[start].depart_s - self.settings.release_lead_s
        ):
            return "not yet"
        if (
            feed.wait_index is not None
            and start >= feed.wait_index
            and not self._cleared(feed.run_id, serial)
        ):
            return "no clearance yet"
        piece = [s.node_id for s in stops[start : end + 1]]
        if (
            trip.run_id
            and any(n in self._border for n in piece[1:])
            and not self._cleared(trip.run_id, serial)
        ):
            return "no clearance: no crossing"  # whatever the order says about the gate
        cargo = self._trucks[serial].held_cargo
        if cargo and any(n in self._border for n in piece):
            return f"carries held container {cargo}: no crossing"
        window = self._window_blocker(serial, stops, start, end, now_s)
        if window:
            return window
        return self.grants.blocker(
            serial, trip.direction, piece, now_s, self._headway_s.__getitem__
        )

    def _window_blocker(
        self, serial: str, stops: tuple[TimedStop, ...], start: int, end: int, now_s: float
    ) -> str:
        """The agreement's rule (:func:`window_blocker`) for stops ``start..end`` of a trip that
        has not reached the border yet: on every piece before km 0 the truck must reach km 0
        by the last entry; leaving its yard, also its destination by the close (with the
        clearance allowance while customs has not decided). Past km 0 it goes on."""
        nodes = [s.node_id for s in stops]
        border = next((i for i, n in enumerate(nodes) if n in self._border), None)
        if border is None or start >= border:
            return ""
        direction = self.planner.trucks[serial].trips[0].direction
        pace = self._pace(serial)
        to_border = self._ahead_s(stops, start, border, direction, pace)
        to_exit = None
        if start == 0 and self.lane_map.node(nodes[0]).kind is NodeKind.YARD:
            to_exit = self._ahead_s(stops, start, len(stops) - 1, direction, pace)
        feed = self._trucks[serial].feed
        waits = feed.wait_index is not None and start < feed.wait_index
        if waits and not self._cleared(feed.run_id, serial):
            to_border += self.settings.clearance_allowance_s
            to_exit = None if to_exit is None else to_exit + self.settings.clearance_allowance_s
        return window_blocker(
            self.calendar, direction, now_s, to_border, to_exit, enters_border=border <= end
        )

    def _ahead_s(
        self,
        stops: tuple[TimedStop, ...],
        start: int,
        end: int,
        direction: Direction,
        pace: float = 1.0,
    ) -> float:
        """Estimated seconds from leaving stop ``start`` to reaching stop ``end``: as planned
        (with the planned waits), never less than driving at the planner's speeds times the
        truck's observed ``pace`` plus the mean service at the stations on the way."""
        planned = stops[end].arrive_s - stops[start].depart_s
        drive = 0.0
        for i in range(start, end):
            a, b = stops[i].node_id, stops[i + 1].node_id
            legs = self.planner.route(a, b)
            drive += pace * sum(self.planner.router.traversal_s(leg) for leg in legs)
            if i > start:
                drive += sum(s for _, s, _ in self.planner.router.dwell_stations(a, direction))
        return max(planned, drive)

    def _window_reason(self, entry: _Run, now_s: float) -> str:
        """Why an open run will not cross in the first window it could still use (the one open
        now, or the next): "" when it will, when no truck is planned for it yet, or when it is
        past km 0 already."""
        direction = entry.run.direction
        rec = self.planner.runs.get(entry.run.run_id)
        state = self.planner.trucks.get(rec.truck) if rec and rec.truck else None
        trip = (
            next((t for t in state.trips if t.run_id == entry.run.run_id), None) if state else None
        )
        if trip is not None and trip.border_s is not None and trip.border_s <= now_s:
            return ""
        where = "on the lane before km 0; " if entry.loaded else ""
        first = self.calendar.next_open(direction, now_s)  # the window it could still use
        if first is None:
            return f"{where}no {direction.value} window left in the agreement's calendar"
        crossing_s = trip.border_s if trip is not None else None
        if crossing_s is None or crossing_s <= first.last_entry_s:
            return ""
        ahead = self.calendar.interval_at(direction, crossing_s) or self.calendar.next_open(
            direction, first.close_s
        )
        if ahead is None:
            return f"{where}no {direction.value} window left in the agreement's calendar"
        opens_h = max(0.0, ahead.open_s - now_s) / 3600.0
        return f"{where}waits for the next window (opens in {opens_h:.1f} h)"

    def _cancel_order(self, serial: str) -> SendInstantActions:
        """A ``cancelOrder`` instant action for the truck (the truck stops at its next node)."""
        self.counters["cancels"] += 1
        action = instant_action(f"{serial}-cancel-{self.counters['cancels']}", "cancelOrder")
        return SendInstantActions(serial, (action,))

    def _fail(self, entry: _Run, reason: str, now_s: float) -> RunChanged:
        """The run fails for good, even past km 0: it never goes back to the pool, and its
        clearance is void."""
        self.planner.withdraw_run(entry.run.run_id, now_s, even_if_crossed=True)
        entry.observation = entry.decision = None
        return self._set(entry, RunState.FAILED, reason=reason)

    def _set(self, entry: _Run, new: RunState, **changes: Any) -> RunChanged:
        if new is not entry.view.state:
            changes.setdefault("reason", "")  # a reason belongs to the state it was given in
        entry.view = replace(entry.view, state=new, **changes)
        if new.final:
            self._open.discard(entry.run.run_id)
        else:
            self._open.add(entry.run.run_id)
        return RunChanged(entry.view)


REJECTIONS = {
    "orderError": FleetController._reject_resync,
    "orderUpdateError": FleetController._reject_resync,
    "noRouteError": FleetController._reject_fault,
    "validationError": FleetController._reject_fault,
}
