"""The corridor simulator: trucks executing the core planner's plans on a simulated corridor.

One core, two drivers: the planner here is the same :class:`~corridor_core.planning.planner.
Planner` the dispatcher node runs. The engine plays the world around it: stochastic station
service (gates, scanners, cranes, km-0 token, inspections, battery swap), truck kinematics per
segment, container arrivals and clearances, and the disruptions of the reference scenario.

How trucks execute a plan (the vehicle side of the released base): the planner decides which
truck carries which load by which route; the interlock (:mod:`corridor_core.interlock`: places,
block signals, the block-entry and departure rules) decides when a truck moves, since
stochastic service makes planned times drift within minutes. The engine keeps the physics
(driving, stations, disruptions) and asks the interlock; the rules, as it applies them:

- a truck leaves a stop when the next stop is released and its services there are done (at a
  yard: as soon as it is loaded; planned departures are not waited for);
- places: a truck that will stand at a node (a service there, the border point, a wait for the
  next block) holds one of the node's places from when it leaves the stop before. A truck that
  rolls through a node onto a two-way segment holds none. One direction may hold all places
  but those the other direction needs: one, or a whole platoon where the other direction comes
  out of a single-lane block and must stand there (a gate, the border point);
- two-way segments: a truck may enter without a place ahead; at the end it waits in its own
  lane, in lane order, until it has one;
- single-lane blocks: a truck enters only with no opposite-direction truck inside or holding a
  claim, ``all_clear_s`` after the last one left, with a place at the far end or a way on; the
  block signal keeps the block for one direction while the other has nobody waiting, and for
  at most the controller's platoon cap in a row when it has (``fifo``: one truck at a time).
  Out of one block into the next (a passing bay) a truck may claim the next block and a place
  beyond it when it enters the first, and then rolls through the bay;
- it crosses the border point only with clearance, inside an open window, with a token;
- same-direction trucks keep the following rule's headway and never overtake;
- a truck that is late reports its position, and the planner re-plans its horizon.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from corridor_core.interlock import (
    LaneInterlock,
    crossing_allowed,
    following_headway_s,
    leg_time_s,
    platoon_cap,
    window_allows_departure,
)
from corridor_core.iso6346 import with_check_digit
from corridor_core.lane_map import LaneMap, NodeKind, Station, StationKind
from corridor_core.planning.planner import Planner
from corridor_core.planning.router import CONTROLLERS, Controller, Trip
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction
from corridor_core.service_model import (
    crane,
    lane_stations,
    selected,
    service_time_s,
    swap_due,
    swap_station,
    swap_time_s,
)
from corridor_sim.des import EventQueue
from corridor_sim.des import Station as StationQueue
from corridor_sim.disruptions import DisruptionParams, breakdown_repair_s
from corridor_sim.workload import Arrival

LATE_REPORT_S = 5.0  # a truck this late at a stop reports, so the planner re-times it
QUEUE_SAMPLE_S = 60.0
V = TypeVar("V")
INSPECT = "inspect:"  # a pending step that sends the set-down container to an inspection


@dataclass(frozen=True)
class EngineConfig:
    """One simulation: the corridor, the agreement's calendar, the fleet and the work."""

    lane_map: LaneMap
    calendar: WindowCalendar
    controller: str = "corridor"
    fleet: int = 40
    start_s: float = 0.0
    end_s: float = 16 * 3600.0
    arrivals: tuple[Arrival, ...] = ()
    disruptions: frozenset[str] = frozenset()
    params: DisruptionParams = field(default_factory=DisruptionParams)
    seed: int = 0
    clearance_mean_s: float = 600.0  # customs release after the load appears
    clearance_sd_s: float = 300.0
    wave_s: float | str | None = "auto"
    record: bool = True
    platoon_cap: int | None = None  # overrides the controller's platoon limit
    yard_wave_s: float = 0.0  # trucks leave yards at multiples of this (0: when ready)


@dataclass
class TruckSim:
    """The physical truck."""

    truck_id: str
    node: str
    busy: bool = False  # driving, or being served
    driving_leg: int = -1  # index of the leg being driven in the current trip
    cargo: str = ""  # run id on board
    arrived_s: float = 0.0
    speed_at_node_mps: float = 0.0
    trips_since_swap: int = 0
    node_rows_from: float | None = None  # standing at a non-yard node since
    late_reported: tuple[str, float] = ("", math.nan)  # (node, arrival) reported late
    pending: list[tuple[str, float]] = field(default_factory=list)  # (station, service s)
    wave_at_s: float = math.nan  # the departure wave it waits for at a yard
    # (trip, until_s, calendar, estimate inputs): refused at its yard before ``until_s``
    # because the window opens later than it could reach the border (see _closed_hold)
    closed_hold: tuple[Trip, float, WindowCalendar, int] | None = None


class ByTrip(Generic[V]):
    """Values worked out once per trip object (trips are immutable, so a value stays right as
    long as its trip lives); a trip is known by identity, and the memory is cleared when it
    holds ``limit`` trips."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._known: dict[int, tuple[Trip, V]] = {}

    def get(self, trip: Trip, make: Callable[[Trip], V]) -> V:
        """The value for ``trip``: remembered, or ``make(trip)`` (then remembered)."""
        known = self._known.get(id(trip))
        if known is not None and known[0] is trip:
            return known[1]
        value = make(trip)
        if len(self._known) >= self.limit:
            self._known.clear()
        self._known[id(trip)] = (trip, value)
        return value


@dataclass
class RunInfo:
    """A load from arrival to delivery."""

    run: ContainerRun
    arrival: Arrival
    boxes: tuple[str, ...]
    cleared_s: float = math.inf
    left_yard_s: float = math.nan
    border_s: float = math.nan
    delivered_s: float = math.nan
    seal_hold: bool = False
    truck: str = ""


class CorridorEngine:
    """Runs one :class:`EngineConfig`; results in the public lists and counters."""

    def __init__(self, config: EngineConfig) -> None:
        self.cfg = config
        lm = config.lane_map
        self.lane_map = lm
        self.vehicle = lm.vehicle_class()
        self.events = EventQueue(config.start_s)
        self.calendar = config.calendar
        controller = CONTROLLERS[config.controller]
        if config.platoon_cap is not None:
            controller = Controller(controller.name, config.platoon_cap)
        self.planner = Planner(lm, config.calendar, controller, wave_s=config.wave_s)
        self.planner.early_tolerance_s = math.inf  # early trucks wait out their plan
        self.planner.late_tolerance_s = LATE_REPORT_S
        seeds = np.random.SeedSequence(config.seed).spawn(8)
        self.rng_service = np.random.default_rng(seeds[0])
        self.rng_share = np.random.default_rng(seeds[1])
        self.rng_clear = np.random.default_rng(seeds[2])
        self.rng_fault = np.random.default_rng(seeds[3])
        self.rng_episode = np.random.default_rng(seeds[4])
        self.rng_seal = np.random.default_rng(seeds[5])
        self.rng_gnss = np.random.default_rng(seeds[6])
        self.on = config.disruptions
        self.stations: dict[str, StationQueue] = {
            st.station_id: StationQueue(st.station_id, st.servers, self.events)
            for st in lm.stations
        }
        # the map sorts stations per query; the hot path looks them up here instead
        self.stations_at = {n.node_id: lm.stations_at(n.node_id) for n in lm.nodes}
        # the interlock: the lane's occupancy as the rules see it, and the rules
        self.lane = LaneInterlock(lm, self.vehicle.length_m)
        self.dwell_at = self.lane.dwell_at
        self.border = self.lane.border
        self.yards = {n.node_id for n in lm.nodes if n.kind is NodeKind.YARD}
        self.single = self.lane.single
        self.trucks: dict[str, TruckSim] = {}
        self.runs: dict[str, RunInfo] = {}
        # physical lane state (who is inside, last entries and exits: self.lane)
        self.in_segment = self.lane.inside
        self.lane_free_s: dict[tuple[str, Direction], float] = {}  # earliest next exit
        self.waiting: set[str] = set()
        self.places = self.lane.places
        self.driving: dict[str, tuple[str, Direction, float, float]] = {}  # truck -> leg
        # trucks at the end of a segment that may not arrive yet, in lane order (FIFO)
        self.lane_queue: dict[tuple[str, Direction], list[tuple[str, str, float, float]]] = {}
        self.queue_retry_s = math.inf  # a queued through truck may go on at this time
        self.signals = self.lane.signals
        # the last entry times into each block (its recent pace, for the window estimates)
        self.block_entries: dict[str, deque[float]] = {s: deque(maxlen=20) for s in self.single}
        # window estimates by (trip, stop, to_border), valid while _ahead_inputs is unchanged
        self._ahead_inputs = 0  # bumped when the demand, a block's pace, fog or a cap changes
        self._ahead_memo: dict[tuple[int, int, bool], tuple[Trip, int, float]] = {}
        self._set_platoon_caps()
        self.yard_wave_s = config.yard_wave_s
        self.blocked_segments: dict[str, int] = {}
        self.fog = False
        self._headways: dict[tuple[str, bool], float] = {}
        self._demand: dict[str, list[int]] = {}
        self._demand_at_s = math.nan
        self._border_stop: ByTrip[int] = ByTrip()  # see _border_index
        self._blocks: ByTrip[list[tuple[str, ...]]] = ByTrip()  # see _blocks_ahead
        self.token_withheld = False
        # records
        self.occupancy: list[tuple[str, str, str, str, float, float]] = []
        self.queue_samples: list[tuple[float, str, int]] = []
        self.counts: dict[str, int] = {"interlock_waits": 0, "late_reports": 0, "desync": 0}
        self.disruption_counts: dict[str, int] = {}
        self.loaded_trips: list[tuple[str, Direction, float, float, float]] = []  # run,dir,...
        self.one_way_trips = 0
        self.crossings = 0  # loaded trips that crossed the border point

    # --- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        """Place the fleet, schedule arrivals, ticks and disruption episodes."""
        lm, now = self.lane_map, self.cfg.start_s
        home = lm.yard_of(lm.southbound_from)
        away = lm.yard_of(lm.far_side())
        # Batteries at staggered charge, as in continuous operation: truck k has run k/fleet
        # of a battery's trips (all fresh at once, the whole fleet would queue for the swap
        # station within the same hour)
        per_battery = 2 * self.vehicle.swap_every_round_trips  # one-way trips
        for k in range(self.cfg.fleet):
            truck = f"T{k + 1:03d}"
            node = home if k % 2 == 0 else away
            used = (k * per_battery) // self.cfg.fleet
            self.trucks[truck] = TruckSim(truck, node, arrived_s=now, trips_since_swap=used)
            self.planner.add_truck(truck, node, now, trips_since_swap=used)
        for i, a in enumerate(self.cfg.arrivals):
            self.events.at(a.t_s, self._arrive, i, a)
        self.events.at(now, self._tick)
        self.events.at(now, self._sample_queues)
        self._schedule_episodes()

    def run(self) -> None:
        """Simulate from ``start_s`` to ``end_s``."""
        self.start()
        self.events.run_until(self.cfg.end_s)
        self.finish()

    def set_platoon_cap(self, cap: int | None) -> None:
        """Change the platoon limit on single-lane blocks: the block signals' from now on (a
        phase already past the new cap ends at the next truck waiting on the other side), the
        places kept for platoons at nodes, and the planner's for plans made from now on."""
        router = self.planner.router
        name = router.controller.name
        if router.controller.platoon_cap == cap:
            return
        router.controller = Controller(name, cap)
        router.rules = {s.segment_id: router._rule(s.segment_id) for s in self.lane_map.segments}
        self._set_platoon_caps()

    def _set_platoon_caps(self) -> None:
        cap = self.planner.router.controller.platoon_cap
        caps = {s: platoon_cap(self.lane_map, s, cap) for s in self.single}
        self._ahead_inputs += 1
        self.lane.set_platoon_caps(caps)

    def set_yard_wave(self, wave_s: float) -> None:
        """Trucks leave the yards only at multiples of ``wave_s`` of simulated time, so they
        reach the blocks together (0: as soon as each is ready)."""
        self.yard_wave_s = max(0.0, wave_s)

    # --- arrivals, clearance, ticks --------------------------------------------------------
    def _arrive(self, i: int, a: Arrival) -> None:
        lm = self.lane_map
        home, away = lm.yard_of(lm.southbound_from), lm.yard_of(lm.far_side())
        origin, dest = (home, away) if a.direction is Direction.SOUTHBOUND else (away, home)
        run_id = f"R{i + 1:06d}"
        boxes = tuple(
            with_check_digit(f"SIMU{(i * 2 + b) % 1_000_000:06d}") for b in range(a.boxes)
        )
        run = ContainerRun(run_id, boxes[0], origin, dest, a.direction, a.t_s, a.due_s)
        self.runs[run_id] = RunInfo(run, a, boxes)
        self.planner.add_run(run, self.events.now_s)
        delay = max(0.0, float(self.rng_clear.normal(self.cfg.clearance_mean_s,
                                                      self.cfg.clearance_sd_s)))  # fmt: skip
        self.events.after(delay, self._clear, run_id)
        self._kick()

    def _clear(self, run_id: str) -> None:
        self.runs[run_id].cleared_s = self.events.now_s
        self.planner.set_clearance(run_id, True, self.events.now_s)
        self._kick()

    def _tick(self) -> None:
        self.planner.tick(self.events.now_s)
        self._kick()
        self.events.after(60.0, self._tick)

    def _sample_queues(self) -> None:
        if self.cfg.record:
            now = self.events.now_s
            for sid in sorted(self.stations):
                self.queue_samples.append((now, sid, self.stations[sid].waiting))
        self.events.after(QUEUE_SAMPLE_S, self._sample_queues)

    # --- the truck's decision loop ---------------------------------------------------------
    def _kick(self) -> None:
        """Re-evaluate every truck that waits on something other than time."""
        self._drain_queues()
        # first come, first served: the longest waiting truck is asked first
        for truck in sorted(self.waiting, key=lambda t: (self.trucks[t].arrived_s, t)):
            self._advance(truck)
        for truck, tr in self.trucks.items():
            if not tr.busy and truck not in self.waiting and self._has_work(truck):
                self._advance(truck)

    def _has_work(self, truck: str) -> bool:
        state = self.planner.trucks.get(truck)
        return bool(state and state.trips) or bool(self.trucks[truck].cargo)

    def _advance(self, truck: str) -> None:
        tr = self.trucks[truck]
        self.waiting.discard(truck)
        if tr.busy:
            return
        now = self.events.now_s
        while tr.pending:
            station, service_s = tr.pending.pop(0)
            if station.startswith(INSPECT):
                sid = station.removeprefix(INSPECT)
                who = (truck, sid, self._dir_of(tr).value)
                self.stations[sid].request(who, service_s, lambda *_: None)
                continue
            if station:
                self._serve(tr, station, service_s)
                return
            if tr.cargo:
                tr.cargo = ""  # the unload marker: the box is off the truck
            else:
                self.planner.report_position(truck, tr.node, now)  # the arrival marker
        state = self.planner.trucks.get(truck)
        trip = state.trips[0] if state and state.trips else None
        if trip is None:
            if tr.cargo and tr.node in self.yards:  # its run was taken back: put the box down
                tr.cargo = ""
            return
        assert state is not None
        pos = state.position
        stop = trip.stops[pos]
        if stop.node_id != tr.node:
            self.counts["desync"] += 1
            self.planner.report_position(truck, tr.node, now)
            self.waiting.add(truck)
            return
        if pos == 0 and tr.node in self.yards and self._yard_work(tr, trip):
            return
        if pos + 1 >= len(trip.stops) or pos + 1 > state.released:
            self.waiting.add(truck)
            return
        if pos == 0 and self.yard_wave_s > 0 and tr.node in self.yards:
            if math.isnan(tr.wave_at_s):  # ready now: it goes with the next wave
                tr.wave_at_s = math.ceil(now / self.yard_wave_s - 1e-9) * self.yard_wave_s
            if now < tr.wave_at_s - 1e-9:
                self.events.at(tr.wave_at_s, self._advance, truck)
                return
        hold = tr.closed_hold
        if hold is not None and pos == 0 and self._still_closed_hold(hold, trip, now):
            ok, retry_s = False, None  # what _may_enter would answer, without working it out
        else:
            tr.closed_hold = None
            ok, retry_s = self._may_enter(tr, trip, pos)
        if not ok:
            self.counts["interlock_waits"] += 1
            self._late_check(tr, trip, pos)
            if retry_s is not None:
                self.events.at(retry_s, self._advance, truck)
            else:
                self.waiting.add(truck)
            return
        self._depart(tr, trip, pos)

    def _still_closed_hold(
        self, hold: tuple[Trip, float, WindowCalendar, int], trip: Trip, now: float
    ) -> bool:
        """Would :meth:`_may_enter` still refuse a truck at its yard for a closed window, as
        when ``hold`` was recorded? Yes while the trip, the calendar and the window estimate's
        inputs are the same objects and versions and ``now`` is before the hold's end: then the
        window is still closed, opens at the same time, and the estimate is the same."""
        held_trip, until_s, calendar, inputs = hold
        if held_trip is not trip or calendar is not self.calendar or now >= until_s:
            return False
        self._block_demand()  # brings _ahead_inputs up to date for this instant
        return inputs == self._ahead_inputs

    def _late_check(self, tr: TruckSim, trip: Trip, pos: int) -> None:
        """Report once per stop when the truck is past its planned departure."""
        now = self.events.now_s
        if now - trip.stops[pos].depart_s <= LATE_REPORT_S:
            return
        key = (tr.node, tr.arrived_s)
        if tr.late_reported != key:
            tr.late_reported = key
            self.counts["late_reports"] += 1
            self.planner.report_position(tr.truck_id, tr.node, now)

    def _yard_work(self, tr: TruckSim, trip: Trip) -> bool:
        """Battery swap and loading before a trip leaves the yard; True when it started one."""
        node = tr.node
        swap = swap_station(self.stations_at[node])
        if swap and swap_due(tr.trips_since_swap, self.vehicle):
            tr.trips_since_swap = 0
            self._serve(tr, swap.station_id, swap_time_s(self.vehicle))
            return True
        if trip.run_id and not tr.cargo and node == self.runs[trip.run_id].run.origin:
            cranes = crane(self.stations_at[node])
            tr.cargo = trip.run_id
            info = self.runs[trip.run_id]
            info.truck = tr.truck_id
            if "seal_mismatch" in self.on:
                info.seal_hold = self.rng_seal.random() < self.cfg.params.seal_mismatch_probability
                if info.seal_hold:
                    self._count("seal_mismatch")
            if cranes:
                self._serve(tr, cranes.station_id, self._service_s(cranes))
                return True
        return False

    def _service_s(self, st: Station) -> float:
        """One visit's time from the shared model; the gates' exceptions are the
        ``ocr_misread`` disruption."""
        misread = st.kind is StationKind.GATE and "ocr_misread" in self.on
        draw = service_time_s(st, self.rng_service, self.rng_share if misread else None)
        if draw.exception:
            self._count("ocr_misread")
        return draw.seconds

    def _count(self, name: str) -> None:
        self.disruption_counts[name] = self.disruption_counts.get(name, 0) + 1

    def _serve(self, tr: TruckSim, station: str, service_s: float) -> None:
        tr.busy = True
        who = (tr.truck_id, station, self._dir_of(tr).value)
        self.stations[station].request(who, service_s, self._served)

    def _served(self, who: tuple[str, str, str], start_s: float, end_s: float) -> None:
        truck, station, direction = who
        tr = self.trucks[truck]
        tr.busy = False
        tr.speed_at_node_mps = 0.0
        if self.cfg.record:
            self.occupancy.append((truck, station, "station", direction, start_s, end_s))
        self._advance(truck)
        self._kick()

    def _dir_of(self, tr: TruckSim) -> Direction:
        state = self.planner.trucks.get(tr.truck_id)
        if state and state.trips:
            return state.trips[0].direction
        return Direction.SOUTHBOUND

    # --- interlocks and driving -------------------------------------------------------------
    def _may_enter(self, tr: TruckSim, trip: Trip, pos: int) -> tuple[bool, float | None]:
        """May the truck drive leg ``pos`` now? (False, t) to retry at t; (False, None) to
        wait for a change. The interlock answers: the window (before the border), the crossing
        (at the border point), then the block entry."""
        now = self.events.now_s
        p = trip.passes[pos]
        seg, d = p.segment, p.direction
        node = trip.stops[pos].node_id
        truck = tr.truck_id
        if seg in self.single:  # asks again below, once nothing but the lane holds it back
            self.signals.withdraw(seg, truck)
        crossed = trip.border_s is None or (pos > 0 and self._border_index(trip) < pos)
        if not crossed:
            at_yard = pos == 0 and node in self.yards
            ok, until_s = window_allows_departure(
                self.calendar,
                d,
                now,
                at_yard=at_yard,
                at_border=node in self.border,
                held=at_yard and self.planner.trucks[truck].held,
                planned_border_s=trip.border_s,
                to_border_s=lambda: self._ahead_s(trip, 0, to_border=True),
                to_end_s=lambda: self._ahead_s(trip, 0),
            )
            if not ok:
                if until_s is not None:
                    # the same answer until then while nothing it rests on changes (the
                    # trip, the calendar, the estimate's inputs)
                    tr.closed_hold = (trip, until_s, self.calendar, self._ahead_inputs)
                return False, None
        if node in self.border and trip.border_s is not None:
            cleared_s = self.runs[trip.run_id].cleared_s if trip.run_id else -math.inf
            if not crossing_allowed(now, self.token_withheld, cleared_s):
                return False, None
        return self.lane.may_enter(
            truck,
            seg,
            d,
            now,
            trip.stops[pos + 1].node_id,
            self._headway_s(seg),
            lambda: self._passes_through(truck, trip, pos + 1),
            self._still_asking,
        )

    def _border_index(self, trip: Trip) -> int:
        """Index of the trip's first stop at a border point (the number of stops if none)."""
        return self._border_stop.get(trip, self._find_border_index)

    def _find_border_index(self, trip: Trip) -> int:
        stops = trip.stops
        return next((i for i, s in enumerate(stops) if s.node_id in self.border), len(stops))

    def _passes_through(self, truck: str, trip: Trip, i: int) -> bool:
        """Does the truck roll through stop ``i`` without standing? Not the last stop, no
        service there for its direction, not the border point, not a yard, and the leg after it
        released and either on a two-way segment (where it can always queue in its own lane)
        or, coming out of a single-lane block, a next block it may claim now, with a place at
        that block's far end (through a passing bay without stopping)."""
        state = self.planner.trucks.get(truck)
        if state is None or i + 1 >= len(trip.stops):
            return False
        if i + 1 > state.released and not self.planner.auto_release:
            return False  # (auto release: reaching stop i releases the leg after it)
        before = trip.passes[i - 1].segment if i > 0 else None
        return self.lane.may_roll_through(
            truck,
            trip.direction,
            trip.stops[i].node_id,
            before,
            trip.passes[i].segment,
            trip.stops[i + 1].node_id,
            self._still_asking,
        )

    def _still_asking(self, truck: str, seg: str) -> bool:
        """Is the truck still standing with ``seg`` as its next leg?"""
        state = self.planner.trucks.get(truck)
        trip = state.trips[0] if state and state.trips else None
        return not (
            self.trucks[truck].busy
            or trip is None
            or state is None
            or state.position >= len(trip.passes)
            or trip.passes[state.position].segment != seg
        )

    def _speed_mps(self, seg_id: str) -> float:
        seg = self.lane_map.segment(seg_id)
        kph = min(seg.speed_limit_kph, self.vehicle.max_speed_kph)
        if self.fog:
            kph = min(kph, self.cfg.params.fog_speed_kph)
        return kph / 3.6

    def _headway_s(self, seg_id: str) -> float:
        """Following headway on a segment now (fog lengthens it); cached per fog state."""
        key = (seg_id, self.fog)
        cached = self._headways.get(key)
        if cached is None:
            cached = self._headways[key] = self._compute_headway_s(seg_id)
        return cached

    def _compute_headway_s(self, seg_id: str) -> float:
        gap = self.cfg.params.fog_time_gap_s if self.fog else None
        return following_headway_s(
            self.lane_map, seg_id, self.vehicle.length_m, self._speed_mps(seg_id), gap
        )

    def _block_demand(self) -> dict[str, list[int]]:
        """Trucks whose trip still has to cross each single-lane block: per block, counts by
        direction and whether still at a yard with its load, at :func:`_demand_slot`; worked
        out once per instant."""
        now = self.events.now_s
        if self._demand_at_s != now:
            demand: dict[str, list[int]] = {}
            for truck, state in self.planner.trucks.items():
                if not state.trips:
                    continue
                tr = self.trucks[truck]
                at_yard = tr.node in self.yards
                if at_yard and not tr.cargo:
                    continue
                trip = state.trips[0]
                slot = _demand_slot(trip.direction, at_yard)
                for seg in self._blocks_ahead(trip)[state.position]:
                    row = demand.get(seg)
                    if row is None:
                        row = demand[seg] = [0, 0, 0, 0]
                    row[slot] += 1
            if demand != self._demand:
                self._ahead_inputs += 1
            self._demand, self._demand_at_s = demand, now
        return self._demand

    def _blocks_ahead(self, trip: Trip) -> list[tuple[str, ...]]:
        """Per stop index of the trip (up to the number of passes), the single-lane blocks of
        its passes from there on, in order."""
        return self._blocks.get(trip, self._find_blocks_ahead)

    def _find_blocks_ahead(self, trip: Trip) -> list[tuple[str, ...]]:
        segs = [q.segment for q in trip.passes]
        return [tuple(s for s in segs[i:] if s in self.single) for i in range(len(segs) + 1)]

    def _queued_for(self, seg: str, d: Direction) -> int:
        """The trucks that may use block ``seg`` before a truck of direction ``d`` leaving a
        yard now: every truck on the lane that still needs it, and the loaded trucks at the
        other direction's yard (they may reach it first); its own direction's yard trucks
        leave after it."""
        row = self._block_demand().get(seg)
        if row is None:
            return 0
        if d is Direction.SOUTHBOUND:  # (see _demand_slot)
            return row[0] + row[2] + row[3]
        return row[2] + row[0] + row[1]

    def _ahead_s(self, trip: Trip, pos: int, to_border: bool = False) -> float:
        """:meth:`_estimate_ahead_s`, remembered per (immutable) trip, stop and ``to_border``
        while its inputs are unchanged: the block demand (compared at each new instant), the
        blocks' recent entries, fog (headways) and the platoon caps. The same value as
        computing it afresh; the memory is cleared when large."""
        self._block_demand()  # brings _ahead_inputs up to date for this instant
        key = (id(trip), pos, to_border)
        known = self._ahead_memo.get(key)
        if known is not None and known[0] is trip and known[1] == self._ahead_inputs:
            return known[2]
        value = self._estimate_ahead_s(trip, pos, to_border)
        if len(self._ahead_memo) >= 4096:
            self._ahead_memo.clear()
        self._ahead_memo[key] = (trip, self._ahead_inputs, value)
        return value

    def _estimate_ahead_s(self, trip: Trip, pos: int, to_border: bool) -> float:
        """Seconds from stop ``pos`` to the end of the trip (or to its border point): free-flow
        driving, a minute for the gate, and at each single-lane block ahead a wait for the
        block signal: a phase (a platoon of the cap crossing, then the all-clear) for every
        cap of trucks that may use the block before it (:meth:`_queued_for`), plus one, and
        no less than the block's recent pace would take for them."""
        total = 60.0
        stops, border, single, caps = trip.stops, self.border, self.single, self.signals.cap
        for i, q in enumerate(trip.passes[pos:], start=pos):
            if to_border and stops[i].node_id in border:
                break
            drive_s = q.exit_s - q.enter_s
            total += drive_s
            if q.segment in single:
                # the trucks asking for the block now go first, a platoon cap per phase
                seg = self.lane_map.segment(q.segment)
                cap = caps[q.segment]
                queued = self._queued_for(q.segment, trip.direction)
                phases = 1 + queued // cap
                by_signal = phases * (drive_s + seg.all_clear_s)
                by_signal += (cap + queued) * self._headway_s(q.segment)
                # and no less than the block's recent pace would take for them (Little's law)
                entries = self.block_entries[q.segment]
                by_pace = 0.0
                if len(entries) >= 2 and entries[-1] > entries[0]:
                    by_pace = queued * (entries[-1] - entries[0]) / (len(entries) - 1)
                total += max(by_signal, by_pace)
        return total

    def _depart(self, tr: TruckSim, trip: Trip, pos: int) -> None:
        now = self.events.now_s
        p = trip.passes[pos]
        seg = self.lane_map.segment(p.segment)
        d = p.direction
        node = trip.stops[pos].node_id
        nxt = trip.stops[pos + 1]
        v = self._speed_mps(seg.segment_id)
        v0 = tr.speed_at_node_mps if now - tr.arrived_s < 1e-9 else 0.0
        stops_next = (
            pos + 1 == len(trip.stops) - 1
            or nxt.depart_s - nxt.arrive_s > 1.0
            or nxt.node_id in self.border
            or (nxt.node_id, d) in self.dwell_at
        )
        v1 = 0.0 if stops_next else v
        accel = self.vehicle.accel_loaded_mps2 if tr.cargo else self.vehicle.accel_empty_mps2
        drive_s = leg_time_s(seg.length_m, v, v0, v1, accel, self.vehicle.braking_mps2)
        key = (seg.segment_id, d)
        headway = self._headway_s(seg.segment_id)
        exit_s = max(now + drive_s, self.lane_free_s.get(key, -math.inf))
        if not stops_next and seg.segment_id not in self.single and exit_s < nxt.depart_s:
            # early for a node it rolls through: drive slower (at most 30 %) rather than stop
            exit_s = min(nxt.depart_s, now + 1.3 * drive_s)
        exit_s += self._faults(tr, seg.segment_id, now, exit_s)
        self.lane_free_s[key] = exit_s + headway
        self.lane.entered(tr.truck_id, seg.segment_id, d, now, node)
        if seg.segment_id in self.single:
            self.block_entries[seg.segment_id].append(now)
            self._ahead_inputs += 1
        if self._passes_through(tr.truck_id, trip, pos + 1):
            after = trip.passes[pos + 1].segment
            if after in self.single:  # the next block is this truck's now, and a place after it
                self.lane.claim_through(tr.truck_id, after, trip.stops[pos + 2].node_id, d)
        elif self.places.room_at(nxt.node_id, d):
            self.places.take(tr.truck_id, nxt.node_id, d)  # its place there, held from now
        self.driving[tr.truck_id] = (seg.segment_id, d, now, exit_s)
        tr.busy = True
        tr.driving_leg = pos
        tr.wave_at_s = math.nan
        tr.closed_hold = None
        if self.cfg.record and tr.node_rows_from is not None:
            self.occupancy.append((tr.truck_id, node, "node", d.value, tr.node_rows_from, now))
        tr.node_rows_from = None
        if node in self.border and trip.run_id:
            self.runs[trip.run_id].border_s = now
            self.crossings += 1
        if pos == 0 and trip.run_id:
            self.runs[trip.run_id].left_yard_s = now
        self.events.at(exit_s, self._reach, tr.truck_id, nxt.node_id, seg.segment_id, d, now, v1)

    def _faults(self, tr: TruckSim, seg: str, now: float, exit_s: float) -> float:
        """Breakdown or positioning loss during the leg: extra seconds (and the planner is
        told of a blocked segment). Each draws from its own stream."""
        drive_h = (exit_s - now) / 3600.0
        prm = self.cfg.params
        extra = 0.0
        rng = self.rng_fault
        if "breakdown" in self.on and rng.random() < -math.expm1(-drive_h / prm.mtbf_driving_h):
            at = now + rng.random() * (exit_s - now)
            repair = breakdown_repair_s(prm, rng)
            self._count("breakdown")
            self.events.at(at, self._block, seg, True)
            self.events.at(at + repair, self._block, seg, False)
            extra += repair
        rate = prm.positioning_loss_per_driving_h
        if "positioning_loss" in self.on and self.rng_gnss.random() < -math.expm1(-drive_h * rate):
            self._count("positioning_loss")
            extra += float(self.rng_gnss.uniform(*prm.positioning_loss_s))
        return extra

    def _block(self, seg: str, blocked: bool) -> None:
        now = self.events.now_s
        n = self.blocked_segments.get(seg, 0) + (1 if blocked else -1)
        self.blocked_segments[seg] = n
        if blocked and n == 1:
            self.planner.block_segment(seg, now)
        elif not blocked and n == 0:
            self.planner.unblock_segment(seg, now)
        self._kick()

    def _reach(
        self, truck: str, node: str, seg: str, d: Direction, entered_s: float, v_end: float
    ) -> None:
        """The truck is at the end of ``seg``: it arrives at ``node`` if it may, otherwise it
        waits at the end of the segment, behind any truck already waiting there."""
        queue = self.lane_queue.setdefault((seg, d), [])
        if queue or not self._may_arrive(truck, node, seg, d):
            queue.append((truck, node, entered_s, v_end))
            return
        self._enter_node(truck, node, seg, d, entered_s, v_end)

    def _may_arrive(self, truck: str, node: str, seg: str, d: Direction) -> bool:
        """A place claimed or free at ``node`` (claimed now), or a truck that rolls through
        and may go on at once. On a two-way segment, a truck behind it in the lane with a
        place hands it over: the first in the lane arrives first."""
        places = self.places
        if places.holds(truck, node) or places.unbounded(node):
            return True
        state = self.planner.trucks[truck]
        trip = state.trips[0] if state.trips else None
        pos = state.position + 1
        if (
            trip is not None
            and pos < len(trip.stops)
            and trip.stops[pos].node_id == node
            and self._passes_through(truck, trip, pos)
        ):
            ok, retry_s = self._may_enter(self.trucks[truck], trip, pos)
            if ok:
                return True
            if retry_s is not None and retry_s < self.queue_retry_s:
                self.queue_retry_s = retry_s
                self.events.at(retry_s, self._retry_queues)
        elif seg not in self.single:
            behind = [t for t, x in self.in_segment[seg].items() if x is d]
            if places.hand_over(node, d, truck, behind):
                return True
        if places.room_at(node, d):
            places.take(truck, node, d)
            return True
        return False

    def _retry_queues(self) -> None:
        self.queue_retry_s = math.inf
        self._kick()

    def _drain_queues(self) -> None:
        """Let waiting trucks at segment ends arrive, in lane order."""
        for (seg, d), queue in list(self.lane_queue.items()):
            while queue:
                truck, node, entered_s, _ = queue[0]
                if not self._may_arrive(truck, node, seg, d):
                    break
                queue.pop(0)
                self._enter_node(truck, node, seg, d, entered_s, 0.0)

    def _enter_node(
        self, truck: str, node: str, seg: str, d: Direction, entered_s: float, v_end: float
    ) -> None:
        now = self.events.now_s
        tr = self.trucks[truck]
        self.lane.exited(truck, seg, d, now)
        self.driving.pop(truck, None)
        if self.cfg.record:
            self.occupancy.append((truck, seg, "segment", d.value, entered_s, now))
        tr.node, tr.arrived_s, tr.speed_at_node_mps = node, now, v_end
        tr.busy, tr.driving_leg = False, -1
        state = self.planner.trucks[truck]
        trip = state.trips[0] if state.trips else None
        final = trip is not None and node == trip.destination and node == trip.stops[-1].node_id
        if node not in self.yards:
            tr.node_rows_from = now
            self._queue_node_services(tr, node, d)
        elif final:
            self._queue_yard_services(tr, node, d)
        if final:
            tr.trips_since_swap += 1
            self.one_way_trips += 1
            # the truck reports arrival once its box is off (inspection, scanner, unload)
            tr.pending.append(("", 0.0))
        else:
            self.planner.report_position(truck, node, now)
        self._advance(truck)
        self._kick()

    def _queue_node_services(self, tr: TruckSim, node: str, d: Direction) -> None:
        seal_due = bool(tr.cargo) and self.runs[tr.cargo].seal_hold
        for st in lane_stations(self.stations_at[node], d, bool(tr.cargo)):
            if not selected(st, self.rng_share):
                continue
            service = self._service_s(st)
            if seal_due and st.kind is StationKind.GATE:
                service += float(self.rng_seal.uniform(*self.cfg.params.seal_hold_s))
                self.runs[tr.cargo].seal_hold = False
                seal_due = False
            tr.pending.append((st.station_id, service))

    def _queue_yard_services(self, tr: TruckSim, node: str, d: Direction) -> None:
        if not tr.cargo:
            return
        info = self.runs[tr.cargo]
        info.delivered_s = self.events.now_s
        if not math.isnan(info.left_yard_s):
            self.loaded_trips.append(
                (tr.cargo, d, info.left_yard_s, info.delivered_s, info.border_s)
            )
        home = self.lane_map.node(node).jurisdiction == self.lane_map.southbound_from
        inspections: list[tuple[str, float]] = []
        switch = "scanner_hold" if home else "red_channel"
        for st in self.stations_at[node]:
            if d not in st.directions or st.kind not in (StationKind.SCANNER,
                                                         StationKind.INSPECTION):  # fmt: skip
                continue
            if st.kind is StationKind.INSPECTION and switch not in self.on:
                continue
            if not selected(st, self.rng_share):
                continue
            if st.kind is StationKind.INSPECTION:
                self._count(switch)
                inspections.append((INSPECT + st.station_id, self._service_s(st)))
            else:
                tr.pending.append((st.station_id, self._service_s(st)))
        cranes = crane(self.stations_at[node])
        if cranes:
            tr.pending.append((cranes.station_id, self._service_s(cranes)))
        tr.pending.append(("", 0.0))  # unload marker: the box is off the truck
        # an inspection holds the container, set down in the inspection area, not the truck
        tr.pending.extend(inspections)

    # --- disruption episodes -----------------------------------------------------------------
    def _schedule_episodes(self) -> None:
        prm, rng = self.cfg.params, self.rng_episode
        a, b = self.cfg.start_s, self.cfg.end_s
        span = b - a

        def when() -> float:
            return a + span * float(rng.uniform(0.15, 0.75))

        if "fog" in self.on:
            t = when()
            self.events.at(t, self._fog, True)
            self.events.at(t + float(rng.uniform(*prm.fog_duration_s)), self._fog, False)
        if "token_withheld" in self.on:
            t = when()
            self.events.at(t, self._token, True, t + float(rng.uniform(*prm.token_withheld_s)))
        if "window_shortened" in self.on:
            self.events.at(when(), self._shorten)
        if "swap_station_down" in self.on:
            swaps = [s for s in self.lane_map.stations if s.kind is StationKind.BATTERY_SWAP]
            t = when()
            for st in swaps:
                self.events.at(t, self._swap_down, st.station_id,
                               t + float(rng.uniform(*prm.swap_down_s)))  # fmt: skip

    def _fog(self, on: bool) -> None:
        self.fog = on
        self._ahead_inputs += 1
        if on:
            self._count("fog")
        self._kick()

    def _token(self, withheld: bool, until_s: float = math.inf) -> None:
        now = self.events.now_s
        self.token_withheld = withheld
        if withheld:
            self._count("token_withheld")
            self.planner.withhold_token(now, until_s)
            self.events.at(until_s, self._token, False)
        else:
            self.planner.restore_token(now)
        self._kick()

    def _shorten(self) -> None:
        now = self.events.now_s
        prm = self.cfg.params
        cal = self.calendar
        changed = False
        for d in Direction:
            span = cal.interval_at(d, now + prm.window_notice_s)
            if span is None or math.isinf(span.close_s):
                continue
            margin = span.close_s - span.last_entry_s
            new_close = max(now + prm.window_notice_s, span.close_s - prm.window_shortened_by_s)
            cal = cal.shortened(d, now + prm.window_notice_s, new_close, margin)
            changed = True
        if changed:
            self._count("window_shortened")
            self.calendar = cal
            self.planner.set_calendar(cal, now)
        self._kick()

    def _swap_down(self, station: str, until_s: float) -> None:
        self._count("swap_station_down")
        self.stations[station].close(until_s)

    # --- end ------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Write the rows of trucks still on the lane at the end: standing at a node (until the
        end) or driving a segment (until its exit)."""
        end = self.cfg.end_s
        if not self.cfg.record:
            return
        queued = {q[0] for queue in self.lane_queue.values() for q in queue}
        for truck, (seg, d, enter_s, exit_s) in sorted(self.driving.items()):
            exit_s = max(exit_s, end) if truck in queued else exit_s
            self.occupancy.append((truck, seg, "segment", d.value, enter_s, exit_s))
        for tr in self.trucks.values():
            if tr.node_rows_from is not None and not tr.busy:
                d = self._dir_of(tr).value
                self.occupancy.append((tr.truck_id, tr.node, "node", d, tr.node_rows_from, end))


def _demand_slot(d: Direction, at_yard: bool) -> int:
    """Index of (direction, at a yard) in a block's demand counts (see ``_block_demand``)."""
    return (0 if d is Direction.SOUTHBOUND else 2) + (1 if at_yard else 0)
