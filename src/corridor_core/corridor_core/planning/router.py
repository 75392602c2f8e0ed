"""Timed routes: drive a fixed path through the reservation table, inside the windows.

A trip is planned leg by leg at the earliest entry each leg allows (see
:meth:`ReservationTable.earliest_pass`). A truck may only wait where it may stand: a yard, a
node with free holding slots, or a station's server while it is served. When a leg is not free
on arrival at a node where the truck cannot wait, the wait is pushed back to the last holding
place before it, and the pass is planned again. So no truck ever waits inside a block, which is
what keeps single-lane sections free of head-on deadlocks.

Windows: the whole lane part of a trip (leaving the origin yard to reaching the destination
yard) lies in one open interval of its direction; every entry into a leg before the border point
is before the interval's last entry; the border point is reached only with clearance and while
the crossing token is not withheld.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from corridor_core.interlock.leg_time import leg_time_s
from corridor_core.interlock.limits import DWELL_KINDS, platoon_cap, standing_capacity
from corridor_core.lane_map import (
    LaneMap,
    LaneMode,
    NodeKind,
    RouteLeg,
    VehicleClass,
)
from corridor_core.planning.reservations import (
    EPS,
    Pass,
    ReservationTable,
    SegmentRule,
    Service,
    Stay,
)
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction

RELEASE_KINDS = (NodeKind.GATE, NodeKind.BORDER_POINT)
MAX_ATTEMPTS = 400


@dataclass(frozen=True)
class TimedStop:
    """A node of a trip: arrival, departure and the latest time the agreement allows there."""

    node_id: str
    arrive_s: float
    depart_s: float
    latest_s: float
    release_point: bool  # a gate or block boundary: the base may end here


@dataclass(frozen=True)
class Trip:
    """One yard-to-yard drive of one truck, loaded with ``run_id`` or empty (``run_id`` "")."""

    truck: str
    run_id: str
    direction: Direction
    stops: tuple[TimedStop, ...]
    passes: tuple[Pass, ...]
    stays: tuple[Stay, ...]
    services: tuple[Service, ...]
    border_s: float | None  # when the border point is crossed, if the trip crosses it
    clearance_s: float  # clearance the crossing relied on (0 for empty trips)
    destination: str = ""  # the yard it heads for (its last stop, unless held short of it)

    @property
    def lane_entry_s(self) -> float:
        """Leaving the origin yard."""
        return self.stops[0].depart_s

    @property
    def lane_exit_s(self) -> float:
        """Reaching the destination yard."""
        return self.stops[-1].arrive_s

    def reserve(self, table: ReservationTable) -> None:
        """Put every reservation of the trip in ``table``."""
        for p in self.passes:
            table.add_pass(p)
        for s in self.stays:
            table.add_stay(s)
        for v in self.services:
            table.add_service(v)


@dataclass(frozen=True)
class Controller:
    """A traffic policy: how many trucks may follow each other through a single-lane block
    before it must clear (``None``: the platoon size the places at the block's ends allow,
    see :func:`~corridor_core.interlock.limits.platoon_cap`)."""

    name: str
    platoon_cap: int | None


CORRIDOR = Controller("corridor", None)
FIFO = Controller("fifo", 1)
BATCH3 = Controller("batch3", 3)
CONTROLLERS = {c.name: c for c in (CORRIDOR, FIFO, BATCH3)}


@dataclass
class Router:
    """Plans trips for one map, vehicle class, controller and window calendar."""

    lane_map: LaneMap
    vehicle: VehicleClass
    controller: Controller
    calendar: WindowCalendar
    rules: dict[str, SegmentRule] = field(init=False)
    border_nodes: frozenset[str] = field(init=False)
    # answers that depend on the (frozen) map alone, worked out once per node
    _dwell: dict[tuple[str, Direction], tuple[tuple[str, float, int], ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _slots: dict[str, float] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = {s.segment_id: self._rule(s.segment_id) for s in self.lane_map.segments}
        self.border_nodes = frozenset(
            n.node_id for n in self.lane_map.nodes if n.kind is NodeKind.BORDER_POINT
        )

    def _rule(self, segment_id: str) -> SegmentRule:
        seg = self.lane_map.segment(segment_id)
        v = min(seg.speed_limit_kph, self.vehicle.max_speed_kph) / 3.6
        headway = self.lane_map.following_for(seg).headway_s(v, self.vehicle.length_m)
        single = seg.lane_mode is LaneMode.SINGLE_ALTERNATING
        cap = platoon_cap(self.lane_map, segment_id, self.controller.platoon_cap)
        capacity = seg.capacity_trucks or 1_000_000
        if single:
            capacity = min(capacity, cap)
        return SegmentRule(headway, single, seg.all_clear_s, capacity, cap)

    def traversal_s(self, leg: RouteLeg) -> float:
        """Seconds to drive a leg at the lower of the speed limit and the truck's top speed,
        starting and ending at rest (conservative: a truck that rolls through a node is early,
        and trucks never leave a stop before its planned departure), loaded: the interlock's
        :func:`~corridor_core.interlock.leg_time.leg_time_s` from rest to rest."""
        v = min(leg.segment.speed_limit_kph, self.vehicle.max_speed_kph) / 3.6
        veh = self.vehicle
        return leg_time_s(
            leg.segment.length_m, v, 0.0, 0.0, veh.accel_loaded_mps2, veh.braking_mps2
        )

    def dwell_stations(self, node_id: str, direction: Direction) -> list[tuple[str, float, int]]:
        """(station id, mean service s, servers) a truck stops at on this node in this direction."""
        key = (node_id, direction)
        found = self._dwell.get(key)
        if found is None:
            found = self._dwell[key] = tuple(
                (st.station_id, st.mean_occupancy_s(with_exceptions=False), st.servers)
                for st in self.lane_map.stations_at(node_id)
                if st.kind in DWELL_KINDS and direction in st.directions and st.share >= 1.0
            )
        return list(found)

    def slots(self, node_id: str) -> float:
        """How many trucks may stand at a node (the interlock's
        :func:`~corridor_core.interlock.limits.standing_capacity`): any number at yards and
        parking; elsewhere its holding slots plus the service lanes of its stations."""
        found = self._slots.get(node_id)
        if found is None:
            found = self._slots[node_id] = standing_capacity(self.lane_map, node_id)
        return found

    def plan(
        self,
        table: ReservationTable,
        truck: str,
        legs: list[RouteLeg],
        depart_lb_s: float,
        run_id: str = "",
        clearance_s: float = 0.0,
        mid_trip: bool = False,
    ) -> Trip | None:
        """The earliest conflict-free, window-compliant trip along ``legs``, or None.

        ``mid_trip``: the truck already stands at the first node, on the lane (a re-plan from a
        release point): it is served there and its wait is recorded, and the window it started
        in still holds it (no waiting for a later window).

        None means it cannot be planned now: no window left in the calendar, a blockage with no
        known end on the way, or no clearance (``clearance_s`` infinite) for a crossing.
        """
        if not legs:
            return None
        direction = self.lane_map.direction_between(
            self.lane_map.node(legs[0].start_node), self.lane_map.node(legs[-1].end_node)
        )
        crosses = any(leg.end_node in self.border_nodes for leg in legs)
        if crosses and math.isinf(clearance_s):
            return None
        lower = [0.0] * len(legs)
        lower[0] = depart_lb_s
        for _ in range(MAX_ATTEMPTS):
            window = self.calendar.interval_at(direction, lower[0])
            # A truck already on the lane finishes inside the interval it entered.
            on_lane = mid_trip and window is not None
            if not on_lane and (window is None or lower[0] >= window.last_entry_s):
                window = self.calendar.next_open(direction, lower[0])
                if window is None:
                    return None
                lower = [max(window.open_s, lower[0])] + [0.0] * (len(legs) - 1)
            assert window is not None  # on the lane, or the next open interval was found
            outcome = self._forward(table, truck, legs, direction, lower, clearance_s, mid_trip)
            if outcome is None:
                return None
            if isinstance(outcome, tuple):
                index, bound = outcome
                lower[index] = max(lower[index], bound)
                continue
            trip = outcome
            past_border = False
            late = False
            for stop, p in zip(trip.stops, trip.passes, strict=False):
                past_border = past_border or stop.node_id in self.border_nodes
                if not past_border and p.enter_s >= window.last_entry_s - EPS:
                    late = True
            if not mid_trip and (late or trip.lane_exit_s > window.close_s + EPS):
                nxt = self.calendar.next_open(direction, window.close_s)
                if nxt is None:
                    return None
                lower = [nxt.open_s] + [0.0] * (len(legs) - 1)
                continue
            return _with_latest(
                trip,
                window.last_entry_s,
                window.close_s,
                self.border_nodes,
                run_id,
                clearance_s if crosses else 0.0,
            )
        return None

    def _forward(
        self,
        table: ReservationTable,
        truck: str,
        legs: list[RouteLeg],
        direction: Direction,
        lower: list[float],
        clearance_s: float,
        mid_trip: bool = False,
    ) -> Trip | tuple[int, float] | None:
        """One pass at the given departure lower bounds: a trip, a restart (leg index, new
        lower bound) when a wait must move back, or None when blocked for good."""
        passes: list[Pass] = []
        stays: list[Stay] = []
        services: list[Service] = []
        stops: list[TimedStop] = []
        arrive = lower[0]
        holding_index = 0  # last leg index whose start node can absorb a wait
        border_s: float | None = None
        for i, leg in enumerate(legs):
            node = leg.start_node
            served = arrive
            if i > 0 or mid_trip:
                for station_id, service_s, servers in self.dwell_stations(node, direction):
                    start = table.earliest_service(station_id, served, service_s, servers, truck)
                    if math.isinf(start):
                        return None
                    services.append(Service(truck, station_id, start, start + service_s))
                    served = start + service_s
            ready = max(served, lower[i])
            if node in self.border_nodes:
                ready = max(ready, clearance_s)
                token_end = table.blocked_until(node, ready, ready + EPS)
                while token_end is not None:
                    if math.isinf(token_end):
                        return None
                    ready = max(ready, token_end)
                    token_end = table.blocked_until(node, ready, ready + EPS)
            tau = self.traversal_s(leg)
            segment = leg.segment.segment_id
            enter = table.earliest_pass(segment, direction, ready, tau, self.rules[segment], truck)
            if math.isinf(enter):
                return None
            slots = self.slots(node) if (i > 0 or mid_trip) else math.inf
            if enter - served > EPS:
                if i > 0 and not table.node_free(node, served, enter, slots, truck):
                    # The truck cannot stand here that long: wait at the last holding place.
                    return (holding_index, passes[holding_index].enter_s + (enter - served))
                stays.append(Stay(truck, node, served, enter))
            if slots > 0:
                holding_index = i
            if node in self.border_nodes:
                border_s = enter
            stops.append(TimedStop(node, arrive, enter, math.inf, self._release_point(node)))
            passes.append(Pass(truck, segment, direction, enter, enter + tau))
            arrive = enter + tau
        last = legs[-1].end_node
        if last in self.border_nodes:
            border_s = arrive
        stops.append(TimedStop(last, arrive, arrive, math.inf, True))
        return Trip(
            truck,
            "",
            direction,
            tuple(stops),
            tuple(passes),
            tuple(stays),
            tuple(services),
            border_s,
            clearance_s,
            last,
        )

    def _release_point(self, node_id: str) -> bool:
        node = self.lane_map.node(node_id)
        return node.kind in RELEASE_KINDS or self.slots(node_id) > 0


def standing_slots(lane_map: LaneMap, node_id: str) -> float:
    """Trucks that may stand at a node: the interlock's
    :func:`~corridor_core.interlock.limits.standing_capacity` (kept under this name for its
    callers)."""
    return standing_capacity(lane_map, node_id)


def _with_latest(
    trip: Trip,
    last_entry_s: float,
    close_s: float,
    border: frozenset[str],
    run_id: str,
    clearance_s: float,
) -> Trip:
    stops = []
    past = False
    for stop in trip.stops:
        latest = close_s if past else last_entry_s
        if stop is trip.stops[-1]:
            latest = close_s
        stops.append(
            TimedStop(stop.node_id, stop.arrive_s, stop.depart_s, latest, stop.release_point)
        )
        past = past or stop.node_id in border
    return Trip(
        trip.truck,
        run_id,
        trip.direction,
        tuple(stops),
        trip.passes,
        trip.stays,
        trip.services,
        trip.border_s,
        clearance_s,
        trip.destination,
    )
