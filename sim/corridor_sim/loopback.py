"""The simulator driving the deployed controller: :class:`FleetController` with loopback trucks.

The loopback driver (in the openTCS sense) runs the class the vehicle-bridge node runs,
in-process and on a simulated clock, with no broker and no ROS: every truck is the emulator's
:class:`~corridor_sim.truck_logic.TruckLogic` (VDA 5050 orders and instant actions, the map's
station times from the shared service model, the following headway), and every message between
them takes the deployed path as bytes: orders and instant actions are JSON the trucks decode,
states and factsheets are JSON the controller decodes with
:func:`~corridor_core.vda5050.parse_state` / :func:`~corridor_core.vda5050.parse_factsheet`.
No rule of who may move, when, or whether a container may cross lives here: the controller
decides; the driver keeps time, carries messages and plays the world.

Timing mirrors the loop at x50 (``corridor run``): the fleet steps every simulated second
(``step_s``), a truck reports on every event and at least every ``state_period_s``, the
controller reads what arrived and ticks every ``tick_s``; a command reaches its truck at the
next step.

The world:

- runs are submitted when their container arrives (the workload of the study);
- customs posts the manifest (RELEASED) when the engine's clearance model says the release
  comes (normal, ``clearance_mean_s`` +- ``clearance_sd_s`` after the arrival); the plate is
  read when the truck stands at its origin's checkpoint gate; the controller decides;
- gate exceptions (``ocr_misread``) come from the service model, as in the engine;
- the study's episodes it can play (:class:`Episode`), at the engine's instants: ``fog`` caps
  every truck's speed (the trucks slow down; the controller is not told and sees them late),
  ``window_shortened`` gives the controller the shortened calendar
  (:meth:`FleetController.set_calendar`), as the engine's planner gets it;
- the rates it can play (``stops``): a ``breakdown`` (the engine's MTBF of driving time,
  lognormal repair) or a ``positioning_loss`` (its rate per driving hour, U(1, 5) min) stops a
  driving truck where it is (the emulator's STALL fault: no error, it keeps reporting) for
  that long, then it drives on (RECOVER). The controller is not told; it sees a truck that is
  late and keeps what it holds. Drawn per step of driving from the driver's own stream (the
  engine draws per leg, so the instants are not the engine's).

Outputs are the loop's (:mod:`corridor_sim.loop_rows`, :mod:`corridor_sim.loop_outputs`): the
rows are rebuilt from the same messages a recording of the real loop holds, and checked by the
independent checker.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_core.dispatcher import ClearanceIssued, Problem, RunChanged, SendOrder
from corridor_core.fleet import Fleet, Truck
from corridor_core.fleet_controller import (
    FleetCommand,
    FleetController,
    LinkSettings,
    SendInstantActions,
)
from corridor_core.lane_map import LaneMap, NodeKind
from corridor_core.planning.router import CONTROLLERS, Controller
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction, RunState
from corridor_core.vda5050 import HeaderStamper, parse_factsheet, parse_state
from corridor_sim.disruptions import DisruptionParams, breakdown_repair_s
from corridor_sim.loop_rows import LoopClock, LoopRows, RowBuilder
from corridor_sim.truck_logic import Fault, FaultKind, OrderOutcome, TruckLogic, factsheet_body
from corridor_sim.truck_services import LaneEntries, StationDesks, TruckServices

MANUFACTURER = "CorridorSim"
CHECKPOINT_LANE = "VN-IN-1"


@dataclass(frozen=True)
class LoopbackRun:
    """A container run and the instant (s) its container arrives at the origin yard."""

    at_s: float
    run: ContainerRun
    declared_plate: str = ""  # the plate customs has on the manifest ("" : its truck's)


@dataclass(frozen=True)
class Episode:
    """A disruption episode the driver plays: ``fog`` from ``start_s`` to ``end_s`` (speed cap
    ``fog_speed_kph``), or ``window_shortened`` at ``start_s`` (the window in force
    ``window_notice_s`` ahead closes ``window_shortened_by_s`` early)."""

    kind: str
    start_s: float
    end_s: float = math.inf


@dataclass(frozen=True)
class LoopbackConfig:
    """One loopback run: the corridor, the agreement's calendar, the fleet and the work.

    Attributes:
        start_s, end_s: simulated span (s); 0 is ``epoch``.
        step_s: the fleet's step (s); a command reaches its truck one step later.
        tick_s: the controller's tick period (s).
        state_period_s: a truck reports at least this often (s), and on every event.
        clearance_mean_s, clearance_sd_s: customs release after the container's arrival (s).
    """

    lane_map: LaneMap
    calendar: WindowCalendar
    fleet: Fleet
    runs: tuple[LoopbackRun, ...]
    epoch: dt.datetime
    start_s: float = 0.0
    end_s: float = 3600.0
    seed: int = 0
    controller: Controller = CONTROLLERS["corridor"]
    settings: LinkSettings = field(default_factory=LinkSettings)
    step_s: float = 1.0
    tick_s: float = 2.5
    state_period_s: float = 50.0
    clearance_mean_s: float = 600.0
    clearance_sd_s: float = 300.0
    gate_exceptions: bool = True
    episodes: tuple[Episode, ...] = ()
    stops: frozenset[str] = frozenset()  # of "breakdown", "positioning_loss"
    disruption_params: DisruptionParams = field(default_factory=DisruptionParams)


def generated_fleet(lane_map: LaneMap, size: int) -> Fleet:
    """``size`` trucks ``T001``... with home plates, alternately at the southbound origin's
    yard and the far side's (the engine's placement)."""
    home = lane_map.yard_of(lane_map.southbound_from)
    away = lane_map.yard_of(lane_map.far_side())
    trucks = tuple(
        Truck(f"T{k + 1:03d}", f"桂F·D{3101 + k}", home if k % 2 == 0 else away)
        for k in range(size)
    )
    return Fleet(MANUFACTURER, trucks)


@dataclass
class _LoopbackTruck:
    logic: TruckLogic
    inbox: list[tuple[str, bytes]] = field(default_factory=list)  # (topic name, payload)
    last_report_s: float = -math.inf


class Loopback:
    """The controller and its trucks on one simulated clock; see the module docstring."""

    def __init__(self, cfg: LoopbackConfig) -> None:
        self.cfg = cfg
        lm = cfg.lane_map
        self.core = FleetController(
            lm, cfg.fleet, calendar=cfg.calendar, controller=cfg.controller, settings=cfg.settings
        )
        self.now_s = cfg.start_s
        self.epoch_s = cfg.epoch.timestamp()
        self.stamper = HeaderStamper(cfg.fleet.manufacturer)  # the trucks' headers
        self.link_stamper = HeaderStamper(cfg.fleet.manufacturer)  # the controller's
        self.cleared: dict[tuple[str, str], float] = {}  # (container, truck) -> cleared at
        self.rows = RowBuilder(lm, LoopClock(self.epoch_s, 1.0), self.cleared)
        self.problems = 0
        self.messages = 0
        self.delivered: dict[str, float] = {}  # run id -> completed at
        self.states: dict[str, RunState] = {}
        vehicle = lm.vehicle_class()
        desks, lanes = StationDesks(lm), LaneEntries(lm)
        per_battery = 2 * vehicle.swap_every_round_trips
        self.trucks: dict[str, _LoopbackTruck] = {}
        n = len(cfg.fleet.trucks)
        for k, t in enumerate(cfg.fleet.trucks):
            node = lm.node(t.home_node)
            services = TruckServices(
                lm, desks, np.random.SeedSequence([cfg.seed, k]),
                exceptions=cfg.gate_exceptions, lanes=lanes,
            )  # fmt: skip
            logic = TruckLogic(t.serial, node.node_id, node.x_m, node.y_m, lm.name,
                               vehicle.max_speed_kph / 3.6, services)  # fmt: skip
            logic.clock_s = cfg.start_s
            logic.one_way_trips = (k * per_battery) // n  # staggered, as in the engine
            self.trucks[t.serial] = _LoopbackTruck(logic)
        self.factsheet = factsheet_body(vehicle)
        self._gates = {
            lm.yard_of(lm.southbound_from): _first_gate(lm, Direction.SOUTHBOUND),
            lm.yard_of(lm.far_side()): _first_gate(lm, Direction.NORTHBOUND),
        }
        rng = np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(8)[2])
        self._manifests: list[tuple[float, LoopbackRun]] = sorted(
            (
                (
                    r.at_s + max(0.0, float(rng.normal(cfg.clearance_mean_s, cfg.clearance_sd_s))),
                    r,
                )
                for r in cfg.runs
            ),
            key=lambda x: (x[0], x[1].run.run_id),
        )
        self._runs = sorted(cfg.runs, key=lambda r: (r.at_s, r.run.run_id))
        self._next_run = self._next_manifest = 0
        self._by_id = {r.run.run_id: r for r in cfg.runs}
        self._released: dict[str, LoopbackRun] = {}  # run id -> released by customs
        self._plates_read: set[tuple[str, str]] = set()  # (run id, truck) read at the gate
        self._posted: set[tuple[str, str]] = set()  # (run id, truck) manifests posted
        self._next_tick_s = cfg.start_s
        self._pending_states: list[tuple[str, bytes]] = []
        self.calendar = cfg.calendar  # as the controller has it now
        self._episodes: list[tuple[float, str]] = sorted(
            [(e.start_s, f"{e.kind}:on") for e in cfg.episodes]
            + [(e.end_s, f"{e.kind}:off") for e in cfg.episodes if e.kind == "fog"]
        )
        self.episodes_played: dict[str, int] = {}
        self._rng_stops = np.random.default_rng(np.random.SeedSequence([cfg.seed, 7, 7]))
        self._stalled_until: dict[str, float] = {}  # serial -> when it drives on

    # --- the clock ---------------------------------------------------------------------------
    def start(self) -> None:
        """Every truck comes ONLINE and publishes its factsheet."""
        for serial, truck in sorted(self.trucks.items()):
            self._execute(self.core.on_connection(serial, "ONLINE", self.now_s))
            self._publish_factsheet(serial)
            self._publish_state(serial, truck)
        self._deliver()

    def run_until(self, end_s: float, progress: Callable[[float], None] | None = None) -> None:
        """Step the world to ``end_s``; ``progress(fraction)`` now and then."""
        span = max(1e-9, self.cfg.end_s - self.cfg.start_s)
        last_shown = -1
        while self.now_s + 1e-9 < end_s:
            self.step(min(end_s, self.now_s + self.cfg.step_s))
            shown = int(50 * (self.now_s - self.cfg.start_s) / span)
            if progress is not None and shown != last_shown:
                last_shown = shown
                progress(min(1.0, (self.now_s - self.cfg.start_s) / span))

    def step(self, to_s: float) -> None:
        """One step of the world: arrivals, the trucks, what they said, the checkpoint, the
        controller's tick."""
        step_s, self.now_s = to_s - self.now_s, to_s
        self._episodes_due()
        self._stops_due(step_s)
        self._submit_due()
        self._customs_due()
        for serial, truck in self.trucks.items():
            self._step_truck(serial, truck)
        self._deliver()
        self._read_plates()
        if self.now_s + 1e-9 >= self._next_tick_s:
            self._next_tick_s += self.cfg.tick_s
            self._execute(self.core.tick(self.now_s))

    def _episodes_due(self) -> None:
        while self._episodes and self._episodes[0][0] <= self.now_s + 1e-9:
            _, what = self._episodes.pop(0)
            prm = self.cfg.disruption_params
            if what == "fog:on" or what == "fog:off":
                cap = prm.fog_speed_kph / 3.6 if what == "fog:on" else None
                for truck in self.trucks.values():
                    truck.logic.speed_cap_mps = cap
            elif what == "window_shortened:on":
                if not self._shorten(prm):
                    continue  # no window in force with a close to move
            else:
                continue
            if what.endswith(":on"):
                kind = what.split(":")[0]
                self.episodes_played[kind] = self.episodes_played.get(kind, 0) + 1

    def _stops_due(self, step_s: float) -> None:
        """Stalled trucks whose time is up drive on; driving trucks may stop (see the module
        docstring). One draw per kind and driving truck per step, in serial order."""
        prm = self.cfg.disruption_params
        for serial, until_s in sorted(self._stalled_until.items()):
            if until_s <= self.now_s + 1e-9:
                del self._stalled_until[serial]
                self.trucks[serial].logic.inject(Fault(FaultKind.RECOVER))
        if not self.cfg.stops:
            return
        step_h = step_s / 3600.0
        for serial, truck in sorted(self.trucks.items()):
            if serial in self._stalled_until or not truck.logic.driving:
                continue
            stop_s = 0.0
            rng = self._rng_stops
            if "breakdown" in self.cfg.stops and rng.random() < -math.expm1(
                -step_h / prm.mtbf_driving_h
            ):
                stop_s = breakdown_repair_s(prm, rng)
                self.episodes_played["breakdown"] = self.episodes_played.get("breakdown", 0) + 1
            rate = prm.positioning_loss_per_driving_h
            if (
                not stop_s
                and "positioning_loss" in self.cfg.stops
                and rng.random() < -math.expm1(-step_h * rate)
            ):
                stop_s = float(rng.uniform(*prm.positioning_loss_s))
                n = self.episodes_played.get("positioning_loss", 0)
                self.episodes_played["positioning_loss"] = n + 1
            if stop_s:
                truck.logic.inject(Fault(FaultKind.STALL))
                self._stalled_until[serial] = self.now_s + stop_s

    def _shorten(self, prm: DisruptionParams) -> bool:
        """The engine's episode: the window in force ``window_notice_s`` from now closes
        ``window_shortened_by_s`` early (not before the notice), its margin kept. False when
        no window in force has a close to move."""
        cal, at_s = self.calendar, self.now_s + prm.window_notice_s
        for d in Direction:
            span = cal.interval_at(d, at_s)
            if span is None or math.isinf(span.close_s):
                continue
            new_close = max(at_s, span.close_s - prm.window_shortened_by_s)
            cal = cal.shortened(d, at_s, new_close, span.close_s - span.last_entry_s)
        if cal is self.calendar:
            return False
        self.calendar = cal
        self._execute(self.core.set_calendar(cal, self.now_s))
        return True

    def finish(self) -> LoopRows:
        """The rows rebuilt from the run's messages (what is still held ends at ``inf``)."""
        return self.rows.finish()

    # --- the trucks ----------------------------------------------------------------------------
    def _step_truck(self, serial: str, truck: _LoopbackTruck) -> None:
        logic, now = truck.logic, self.now_s
        sent = self._advance(serial, truck, now)
        inbox, truck.inbox = truck.inbox, []
        for name, payload in inbox:
            self._handle(serial, truck, name, payload)
            self._publish_state(serial, truck)
            sent = True
        sent = self._advance(serial, truck, now) or sent
        if not sent and now - truck.last_report_s >= self.cfg.state_period_s:
            logic.clock_s = max(logic.clock_s, now)
            self._publish_state(serial, truck)

    def _advance(self, serial: str, truck: _LoopbackTruck, now_s: float) -> bool:
        sent = False
        while truck.logic.advance(now_s):  # one state per event, at its instant
            self._publish_state(serial, truck)
            sent = True
        return sent

    def _handle(self, serial: str, truck: _LoopbackTruck, name: str, payload: bytes) -> None:
        msg = json.loads(payload)
        if name == "order":
            if truck.logic.receive_order(msg) is OrderOutcome.REJECTED:
                self.problems += 1
        elif name == "instantActions":
            for extra in truck.logic.receive_instant_actions(msg):
                if extra == "factsheet":
                    self._publish_factsheet(serial)

    def _publish_state(self, serial: str, truck: _LoopbackTruck) -> None:
        logic = truck.logic
        at_s = logic.clock_s
        msg = self.stamper.stamp(serial, "state", logic.state_body(), self.epoch_s + at_s)
        truck.last_report_s = self.now_s
        self.rows.state(serial, msg, at_s)
        self._pending_states.append(("state", json.dumps(msg).encode()))

    def _publish_factsheet(self, serial: str) -> None:
        msg = self.stamper.stamp(serial, "factsheet", self.factsheet, self.epoch_s + self.now_s)
        self._pending_states.append(("factsheet", json.dumps(msg).encode()))

    # --- the controller ------------------------------------------------------------------------
    def _deliver(self) -> None:
        """What the trucks said reaches the controller, in the order they said it."""
        pending, self._pending_states = self._pending_states, []
        for name, payload in pending:
            self.messages += 1
            if name == "state":
                self._execute(self.core.on_state(parse_state(payload), self.now_s))
            else:
                sheet = parse_factsheet(payload)
                self._execute(self.core.on_factsheet(sheet.serial, sheet.action_types, self.now_s))

    def _execute(self, commands: list[FleetCommand]) -> None:
        for command in commands:
            if isinstance(command, SendOrder):
                msg = self.link_stamper.stamp(
                    command.vehicle_id, "order", command.order, self.epoch_s + self.now_s
                )
                self.rows.order(command.vehicle_id, msg)
                self._send(command.vehicle_id, "order", msg)
            elif isinstance(command, SendInstantActions):
                body = {"actions": list(command.actions)}
                msg = self.link_stamper.stamp(
                    command.vehicle_id, "instantActions", body, self.epoch_s + self.now_s
                )
                self._send(command.vehicle_id, "instantActions", msg)
            elif isinstance(command, ClearanceIssued) and command.result.cleared:
                self.cleared.setdefault((command.container_number, command.vehicle_id), self.now_s)
            elif isinstance(command, RunChanged):
                view = command.run
                self.states[view.run_id] = view.state
                if view.state is RunState.COMPLETED:
                    self.delivered.setdefault(view.run_id, self.now_s)
            elif isinstance(command, Problem):
                self.problems += 1

    def _send(self, serial: str, name: str, msg: dict[str, Any]) -> None:
        truck = self.trucks.get(serial)
        if truck is not None:
            truck.inbox.append((name, json.dumps(msg).encode()))

    # --- the world -----------------------------------------------------------------------------
    def _submit_due(self) -> None:
        while self._next_run < len(self._runs) and self._runs[self._next_run].at_s <= self.now_s:
            item = self._runs[self._next_run]
            self._next_run += 1
            ok, _, commands = self.core.submit(item.run, self.now_s)
            if not ok:
                self.problems += 1
            self._execute(commands)

    def _customs_due(self) -> None:
        """Customs releases containers as the clearance model says; a released container whose
        truck's plate was read at the gate has its manifest posted now."""
        while (
            self._next_manifest < len(self._manifests)
            and self._manifests[self._next_manifest][0] <= self.now_s
        ):
            _, item = self._manifests[self._next_manifest]
            self._next_manifest += 1
            self._released[item.run.run_id] = item
            view = self.core.run(item.run.run_id)
            if view is not None and (view.run_id, view.vehicle_id) in self._plates_read:
                self._post_manifest(item, view.vehicle_id)

    def _post_manifest(self, item: LoopbackRun, serial: str) -> None:
        """The manifest of ``item``, naming the plate of ``serial`` (or the declared one)."""
        if (item.run.run_id, serial) in self._posted:
            return
        self._posted.add((item.run.run_id, serial))
        truck = self.cfg.fleet.by_serial(serial)
        plate = item.declared_plate or (truck.plate if truck else "")
        record = ManifestRecord(
            f"DEC-{item.run.run_id}", item.run.container_number, plate, "RELEASED", "GREEN"
        )
        self._execute(self.core.on_manifest(record, self.now_s))

    def _read_plates(self) -> None:
        """A truck with a dispatched run stands at its origin's checkpoint gate: its plate is
        read there (once per run and truck); a container customs released already has its
        manifest posted first."""
        for view in self.core.open_runs():
            key = (view.run_id, view.vehicle_id)
            if key in self._plates_read or not view.vehicle_id:
                continue
            if view.state not in (RunState.DISPATCHED, RunState.IN_PROGRESS, RunState.ASSIGNED):
                continue
            logic = self.trucks[view.vehicle_id].logic
            if not view.order_id or logic.order_id != view.order_id or logic.driving:
                continue
            item = self._by_id[view.run_id]
            if logic.last_node_id != self._gates.get(item.run.origin):
                continue
            self._plates_read.add(key)
            if view.run_id in self._released:
                self._post_manifest(item, view.vehicle_id)
            truck = self.cfg.fleet.by_serial(view.vehicle_id)
            assert truck is not None
            observation = PlateObservation(truck.plate, CHECKPOINT_LANE, f"TX-{view.run_id}", 0.97)
            self._execute(self.core.on_plate_read(observation, self.now_s))


def _first_gate(lane_map: LaneMap, direction: Direction) -> str:
    """The first checkpoint gate of ``direction``'s route from its origin yard ("" if none)."""
    origin = lane_map.southbound_from if direction is Direction.SOUTHBOUND else lane_map.far_side()
    a, b = (
        lane_map.yard_of(origin),
        lane_map.yard_of(
            lane_map.far_side() if direction is Direction.SOUTHBOUND else lane_map.southbound_from
        ),
    )
    for leg in lane_map.route(a, b):
        if lane_map.node(leg.end_node).kind is NodeKind.GATE:
            return leg.end_node
    return ""
