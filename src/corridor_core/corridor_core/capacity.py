"""The physical-limit calculator: what each element of a corridor can carry, and what binds.

Elements (all in containers per hour, at a southbound share ``s`` of the flow):

- **lane**: a dual or one-way segment carries ``lanes * 3600 / h`` per direction, with the
  following headway ``h = (L + s0) / v + T`` (vehicle length, standstill gap, speed, time gap).
- **single-lane group**: consecutive single-lane blocks joined by passing bays, worked in
  alternating platoons of ``nS`` and ``nN`` trucks: cycle
  ``C = 2 * tau + (nS - 1) * h + (nN - 1) * h + 2 * all_clear`` (``tau`` the longest block's
  traversal); each direction carries ``n * 3600 / C``. Platoons are limited by the holding slots
  where they wait; the calculator picks the sizes that carry the most at split ``s``.
- **station**: ``servers * 3600 / mean occupancy / share`` in the directions it serves.
- **fleet**: ``N * loaded containers per round trip / round-trip time``.

A direction-specific capacity ``c`` allows a total of ``c / s`` (or ``c / (1 - s)``); the
binding element is the one with the smallest total. Two assumption sets: ``full`` (gate
exceptions, crane positioning, every station a truck waits at, a uniform-arrival model of
single-lane waits, lifts by the backhaul ratio) and ``reference`` (the back-of-envelope of the
reference scenario: no exceptions or positioning in station capacity, four lifts and 300 s of
single-lane waits per round trip).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from corridor_core.agreement import Agreement
from corridor_core.interlock.leg_time import leg_time_s
from corridor_core.interlock.limits import DEFAULT_PLATOON_CAP, DWELL_KINDS, standing_capacity
from corridor_core.lane_map import (
    LaneMap,
    LaneMode,
    NodeKind,
    RouteLeg,
    Segment,
    Station,
    StationKind,
    VehicleClass,
)
from corridor_core.runs import Direction

S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND
REFERENCE_WAIT_S = 300.0


class Assumptions(Enum):
    """Which assumption set the calculator uses."""

    FULL = "full"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Element:
    """One element's capacity.

    Attributes:
        element_id: segment, group, station id or "fleet".
        kind: lane, single_lane, station kind, or fleet.
        southbound_per_h / northbound_per_h: capacity per direction (None: not directional).
        total_per_h: the total flow this element allows at the split.
        detail: how it was computed, in words and numbers.
    """

    element_id: str
    kind: str
    southbound_per_h: float | None
    northbound_per_h: float | None
    total_per_h: float
    detail: str
    utilisation_at_bound: float = 0.0
    off_lane: bool = False  # limits clearance of some containers, not the lane's flow


@dataclass(frozen=True)
class CapacityReport:
    """The calculator's answer."""

    map_name: str
    southbound_share: float
    fleet_size: int
    assumptions: Assumptions
    elements: tuple[Element, ...]
    binding_bound_per_h: float
    binding_element: str
    binding_per_direction: dict[str, tuple[float, str]]
    round_trip_s: float
    notes: tuple[str, ...] = ()
    open_hours_per_day: dict[str, float] = field(default_factory=dict)
    containers_per_day: float | None = None

    def to_json(self) -> dict[str, object]:
        """The ``--json`` form."""
        return {
            "map": self.map_name,
            "binding_bound_per_h": round(self.binding_bound_per_h, 2),
            "binding_element": self.binding_element,
            "binding_per_direction": {
                d: {"per_h": round(v, 2), "element": e}
                for d, (v, e) in self.binding_per_direction.items()
            },
            "southbound_share": self.southbound_share,
            "fleet_size": self.fleet_size,
            "assumptions": self.assumptions.value,
            "round_trip_s": round(self.round_trip_s, 1),
            "elements": [
                {
                    "id": e.element_id,
                    "kind": e.kind,
                    "southbound_per_h": _r(e.southbound_per_h),
                    "northbound_per_h": _r(e.northbound_per_h),
                    "total_per_h": _r(e.total_per_h),
                    "utilisation_at_bound": round(e.utilisation_at_bound, 3),
                    "off_lane": e.off_lane,
                    "detail": e.detail,
                }
                for e in self.elements
            ],
            "notes": list(self.notes),
            "open_hours_per_day": self.open_hours_per_day,
            "containers_per_day": _r(self.containers_per_day),
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def total_at_split(south: float | None, north: float | None, share: float) -> float:
    """The total flow allowed by per-direction capacities at southbound share ``share``."""
    limits = []
    if south is not None and share > 0:
        limits.append(south / share)
    if north is not None and share < 1:
        limits.append(north / (1 - share))
    return min(limits) if limits else float("inf")


def _speed(seg: Segment, vehicle: VehicleClass) -> float:
    return min(seg.speed_limit_kph, vehicle.max_speed_kph) / 3.6


def lane_elements(lane_map: LaneMap, vehicle: VehicleClass, share: float) -> list[Element]:
    """Free-flow capacity of every dual and one-way segment."""
    out = []
    for seg in lane_map.segments:
        if seg.lane_mode is LaneMode.SINGLE_ALTERNATING:
            continue
        v = _speed(seg, vehicle)
        headway = lane_map.following_for(seg).headway_s(v, vehicle.length_m)
        per_dir = seg.lanes_per_direction * 3600 / headway
        north: float | None = per_dir if seg.lane_mode is LaneMode.TWO_WAY_DUAL else None
        south: float | None = per_dir
        if seg.lane_mode is LaneMode.ONE_WAY:
            direction = seg.direction_of(seg.from_node, lane_map)
            south, north = (per_dir, None) if direction is S else (None, per_dir)
        out.append(
            Element(
                seg.segment_id,
                "lane",
                south,
                north,
                total_at_split(south, north, share),
                f"{seg.lanes_per_direction} lane(s) x 3600/{headway:.2f} s headway at "
                f"{v * 3.6:.0f} km/h",
            )
        )
    return out


def single_lane_groups(lane_map: LaneMap) -> list[list[Segment]]:
    """Chains of single-lane segments joined at passing bays, in map order."""
    singles = [s for s in lane_map.segments if s.lane_mode is LaneMode.SINGLE_ALTERNATING]
    groups: list[list[Segment]] = []
    for seg in singles:
        for group in groups:
            joints = {n for s in group for n in (s.from_node, s.to_node)}
            shared = joints & {seg.from_node, seg.to_node}
            if any(lane_map.node(n).kind is NodeKind.PASSING_BAY for n in shared):
                group.append(seg)
                break
        else:
            groups.append([seg])
    return groups


@dataclass(frozen=True)
class GroupPlan:
    """A single-lane group worked with platoons of ``n_south`` and ``n_north``."""

    segment_ids: tuple[str, ...]
    tau_s: float
    headway_s: float
    all_clear_s: float
    n_south: int
    n_north: int

    @property
    def cycle_s(self) -> float:
        """Seconds for one southbound and one northbound platoon to pass."""
        return (
            2 * self.tau_s
            + (self.n_south - 1) * self.headway_s
            + (self.n_north - 1) * self.headway_s
            + 2 * self.all_clear_s
        )

    def per_h(self, direction: Direction) -> float:
        """Trucks per hour in ``direction``."""
        n = self.n_south if direction is S else self.n_north
        return n * 3600 / self.cycle_s

    def mean_wait_s(self, direction: Direction) -> float:
        """Mean wait of a truck arriving at random: red**2 / (2 C) (uniform arrivals)."""
        n = self.n_south if direction is S else self.n_north
        red = self.cycle_s - (self.tau_s + (n - 1) * self.headway_s)
        return red * red / (2 * self.cycle_s)


def _platoon_limits(lane_map: LaneMap, group: list[Segment], cap: int) -> tuple[int, int]:
    """Max platoon per direction: the places (the interlock's standing capacity) where it
    waits and of every bay inside the group, and ``cap`` (where a group ends at a yard or a
    parking)."""
    ends: dict[str, int] = {}
    for seg in group:
        for node_id in (seg.from_node, seg.to_node):
            ends[node_id] = ends.get(node_id, 0) + 1
    outer = [n for n, count in ends.items() if count == 1]
    inner = [n for n, count in ends.items() if count > 1]

    def slots(node_id: str) -> int:
        places = standing_capacity(lane_map, node_id)
        return cap if places >= cap else max(1, int(places))

    origin = lane_map.node(lane_map.yard_of(lane_map.southbound_from))

    def dist(node_id: str) -> float:
        node = lane_map.node(node_id)
        return (node.x_m - origin.x_m) ** 2 + (node.y_m - origin.y_m) ** 2

    north_end, south_end = sorted(outer, key=dist)[0], sorted(outer, key=dist)[-1]
    inner_cap = min((slots(n) for n in inner), default=cap)
    return (min(slots(north_end), inner_cap, cap), min(slots(south_end), inner_cap, cap))


def plan_group(
    lane_map: LaneMap, group: list[Segment], vehicle: VehicleClass, share: float, cap: int
) -> GroupPlan:
    """The platoon sizes (within the holding limits) that carry the most at split ``share``."""
    speeds = [_speed(s, vehicle) for s in group]
    tau = max(s.length_m / v for s, v in zip(group, speeds, strict=True))
    v_min = min(speeds)
    headway = max(lane_map.following_for(s).headway_s(v_min, vehicle.length_m) for s in group)
    clear = max(s.all_clear_s for s in group)
    max_s, max_n = _platoon_limits(lane_map, group, cap)
    ids = tuple(s.segment_id for s in group)
    best = GroupPlan(ids, tau, headway, clear, 1, 1)
    for n_s in range(1, max_s + 1):
        for n_n in range(1, max_n + 1):
            plan = GroupPlan(ids, tau, headway, clear, n_s, n_n)
            key = (total_at_split(plan.per_h(S), plan.per_h(N), share), -(n_s + n_n))
            best_key = (
                total_at_split(best.per_h(S), best.per_h(N), share),
                -(best.n_south + best.n_north),
            )
            if key > best_key:
                best = plan
    return best


def _platoon_series(plan: GroupPlan, sizes: tuple[int, ...] = (1, 2, 3, 4, 6, 8)) -> str:
    """Total per hour (both directions, equal platoons of n) for a few platoon sizes."""
    parts = []
    for n in sizes:
        p = GroupPlan(plan.segment_ids, plan.tau_s, plan.headway_s, plan.all_clear_s, n, n)
        parts.append(f"{n}: {p.per_h(S) + p.per_h(N):.0f}")
    return ", ".join(parts)


def station_capacity(station: Station, assumptions: Assumptions) -> float:
    """Containers per hour a station can serve in its directions."""
    full = assumptions is Assumptions.FULL
    occupancy = station.mean_occupancy_s(with_exceptions=full)
    if not full:
        occupancy -= station.setup_s
    return station.servers * 3600 / occupancy / station.share


def _leg_time_s(
    legs: list[RouteLeg], lane_map: LaneMap, vehicle: VehicleClass, direction: Direction
) -> tuple[float, int]:
    """Driving time along ``legs`` (loaded), and the number of stops: each leg's
    :func:`~corridor_core.interlock.leg_time.leg_time_s`, stopping at the origin, at every
    station a truck of ``direction`` always stops at, and at the end, and rolling through the
    other nodes at the lower speed of the legs on either side."""
    a, b = vehicle.accel_loaded_mps2, vehicle.braking_mps2
    stop_nodes = {
        st.node
        for st in lane_map.stations
        if st.kind in DWELL_KINDS and direction in st.directions and st.share >= 1.0
    }
    speeds = [_speed(leg.segment, vehicle) for leg in legs]
    # the speed at each node between legs (0 where the truck stops)
    via = [
        0.0 if legs[i].start_node in stop_nodes else min(speeds[i - 1], speeds[i])
        for i in range(1, len(legs))
    ]
    ends = [0.0, *via, 0.0]
    total = sum(
        leg_time_s(leg.segment.length_m, v, ends[i], ends[i + 1], a, b)
        for i, (leg, v) in enumerate(zip(legs, speeds, strict=True))
    )
    return total, sum(1 for leg in legs[1:] if leg.start_node in stop_nodes)


def fleet_round_trip(
    lane_map: LaneMap,
    vehicle: VehicleClass,
    share: float,
    plans: list[GroupPlan],
    assumptions: Assumptions,
) -> tuple[float, list[str]]:
    """Seconds for one truck's round trip, and the parts in words."""
    origin, far = lane_map.yard_of(lane_map.southbound_from), lane_map.yard_of(lane_map.far_side())
    drive_s = 0.0
    for direction, (a, b) in ((S, (origin, far)), (N, (far, origin))):
        t, _ = _leg_time_s(lane_map.route(a, b), lane_map, vehicle, direction)
        drive_s += t
    backhaul = min(share, 1 - share) / max(share, 1 - share)
    full = assumptions is Assumptions.FULL
    station_s = 0.0
    yard_s = 0.0
    for st in lane_map.stations:
        if st.kind is StationKind.YARD_HANDLING:
            lifts = (1 + backhaul) if full else 2.0  # per yard: unload + (back)load
            yard_s += lifts * st.mean_occupancy_s(with_exceptions=full)
        elif full and st.kind is not StationKind.INSPECTION:
            visits = len(st.directions) * st.share
            station_s += visits * st.mean_occupancy_s(with_exceptions=True)
        elif not full and st.kind in (StationKind.GATE, StationKind.SCANNER) and st.share >= 1:
            station_s += len(st.directions) * st.service_time_s.mean_s
    if full:
        wait_s = sum(p.mean_wait_s(S) + p.mean_wait_s(N) for p in plans)
        wait_note = f"single-lane waits {wait_s:.0f} s (uniform arrivals)"
    else:
        wait_s = REFERENCE_WAIT_S if plans else 0.0
        wait_note = f"single-lane waits {wait_s:.0f} s (reference estimate)"
    parts = [
        f"driving {drive_s:.0f} s",
        f"stations {station_s:.0f} s",
        f"yards {yard_s:.0f} s",
        wait_note,
    ]
    return drive_s + station_s + yard_s + wait_s, parts


def calculate(
    lane_map: LaneMap,
    fleet_size: int = 40,
    southbound_share: float = 0.55,
    assumptions: Assumptions = Assumptions.FULL,
    agreement: Agreement | None = None,
    platoon_cap: int = DEFAULT_PLATOON_CAP,
    vehicle_class: str | None = None,
) -> CapacityReport:
    """Every element's capacity and the binding bound (pure; deterministic)."""
    if not 0 < southbound_share < 1:
        raise ValueError("southbound_share must be between 0 and 1 (exclusive)")
    share = southbound_share
    vehicle = lane_map.vehicle_class(vehicle_class)
    elements = lane_elements(lane_map, vehicle, share)
    plans = [
        plan_group(lane_map, g, vehicle, share, platoon_cap) for g in single_lane_groups(lane_map)
    ]
    for p in plans:
        elements.append(
            Element(
                "+".join(p.segment_ids),
                "single_lane",
                p.per_h(S),
                p.per_h(N),
                total_at_split(p.per_h(S), p.per_h(N), share),
                f"platoons {p.n_south} S / {p.n_north} N, cycle {p.cycle_s:.0f} s "
                f"(traversal {p.tau_s:.0f} s, headway {p.headway_s:.1f} s, "
                f"all-clear {p.all_clear_s:g} s); "
                f"total by platoon size n both ways: {_platoon_series(p)}",
            )
        )
    for st in lane_map.stations:
        cap = station_capacity(st, assumptions)
        dirs = set(st.directions)
        if dirs == {S, N}:
            south = north = None
            total = cap
        else:
            south = cap if S in dirs else None
            north = cap if N in dirs else None
            total = total_at_split(south, north, share)
        occupancy = st.mean_occupancy_s(with_exceptions=assumptions is Assumptions.FULL)
        if assumptions is Assumptions.REFERENCE:
            occupancy -= st.setup_s
        elements.append(
            Element(
                st.station_id,
                st.kind.value,
                south,
                north,
                total,
                f"{st.servers} x 3600 / {occupancy:.1f} s"
                + (f" / share {st.share:g}" if st.share < 1 else ""),
                off_lane=st.kind is StationKind.INSPECTION,
            )
        )
    round_trip_s, parts = fleet_round_trip(lane_map, vehicle, share, plans, assumptions)
    loaded = 1 + min(share, 1 - share) / max(share, 1 - share)
    fleet_total = fleet_size * loaded * 3600 / round_trip_s
    elements.append(
        Element(
            "fleet",
            "fleet",
            None,
            None,
            fleet_total,
            f"{fleet_size} trucks x {loaded:.2f} loaded per round trip / "
            f"{round_trip_s / 60:.1f} min ({', '.join(parts)})",
        )
    )
    binding = min((e for e in elements if not e.off_lane), key=lambda e: e.total_per_h)
    bound = binding.total_per_h
    elements = [_with_utilisation(e, bound, share) for e in elements]
    on_lane = [e for e in elements if not e.off_lane]
    per_direction = {}
    for direction, part in ((S, share), (N, 1 - share)):
        caps = [
            ((e.southbound_per_h if direction is S else e.northbound_per_h), e.element_id)
            for e in on_lane
        ]
        candidates = [(c, i) for c, i in caps if c is not None]
        candidates += [
            (e.total_per_h * part, e.element_id)
            for e in on_lane
            if e.southbound_per_h is None and e.northbound_per_h is None
        ]
        per_direction[direction.value] = min(candidates)
    notes = list(_notes(assumptions, plans))
    for e in elements:
        if e.off_lane and e.total_per_h < bound:
            notes.append(
                f"{e.element_id} ({e.kind}) handles only {e.total_per_h:.0f}/h in total-flow "
                "terms, below the lane bound: containers sent to it will queue off the lane"
            )
    open_hours: dict[str, float] = {}
    per_day = None
    if agreement is not None:
        open_hours = {d.value: round(agreement.open_hours_per_day(d), 2) for d in (S, N)}
        if open_hours[N.value] == 0 or open_hours[S.value] == 0:
            only = S if open_hours[S.value] else N
            notes.append(
                f"agreement {agreement.name!r} opens only {only.value} windows: "
                "the daily figure counts that direction alone"
            )
            per_day = per_direction[only.value][0] * open_hours[only.value]
        else:
            per_day = bound * min(open_hours[S.value], open_hours[N.value])
    return CapacityReport(
        map_name=lane_map.name,
        southbound_share=share,
        fleet_size=fleet_size,
        assumptions=assumptions,
        elements=tuple(elements),
        binding_bound_per_h=bound,
        binding_element=binding.element_id,
        binding_per_direction=per_direction,
        round_trip_s=round_trip_s,
        notes=tuple(notes),
        open_hours_per_day=open_hours,
        containers_per_day=per_day,
    )


def _with_utilisation(e: Element, bound: float, share: float) -> Element:
    if e.southbound_per_h is None and e.northbound_per_h is None:
        util = bound / e.total_per_h
    else:
        util = max(
            (bound * share / e.southbound_per_h) if e.southbound_per_h else 0.0,
            (bound * (1 - share) / e.northbound_per_h) if e.northbound_per_h else 0.0,
        )
    return replace(e, utilisation_at_bound=util)


def _notes(assumptions: Assumptions, plans: list[GroupPlan]) -> list[str]:
    if assumptions is Assumptions.REFERENCE:
        return [
            "reference assumptions: station capacity without gate exceptions or crane "
            "positioning; 4 lifts per round trip; 300 s of single-lane waits per round trip",
        ]
    return [
        "differs from the reference estimate: gate exceptions occupy the lane (p x mean "
        "exception time added per pass)",
        "differs: crane positioning (setup_s) occupies the crane, so yards carry less than "
        "servers x 3600 / lift time",
        "differs: lifts per round trip follow the backhaul ratio (1 + backhaul per yard), not 4",
        "differs: single-lane waits from a uniform-arrival model (red^2 / 2C per pass), not a "
        "flat 300 s per round trip"
        if plans
        else "no single-lane sections",
        "differs: every station a truck waits at (token, battery swap, selected scans) is in "
        "the round trip; inspections are not (the container is set down)",
    ]
