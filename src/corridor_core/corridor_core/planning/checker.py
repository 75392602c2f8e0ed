"""An independent check of a plan's safety invariants.

Written apart from the planner's bookkeeping: it takes only the timed trips (the plan as the
vehicles would drive it), the map, the window calendar and clearances, and re-derives every
conflict from scratch with plain interval arithmetic.

Invariants:
- single-lane blocks: no two trucks of opposite directions inside at once, and the all-clear
  gap between them is kept; never more trucks than the segment's capacity;
- following rule: same-direction entries and exits at least the headway apart, no overtaking;
- holding places and stations: never more trucks waiting than slots, or served than servers;
- no truck waits inside a block or at a node that cannot hold it (so no head-on deadlock);
- windows: no entry before the border outside an open interval or after its last entry, and the
  corridor empty at close; no crossing of the border point before clearance;
- every trip is a path of the map.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from corridor_core.interlock.limits import standing_capacities
from corridor_core.lane_map import LaneMap, LaneMode, NodeKind
from corridor_core.runs import Direction

TOL = 1e-3


class _Stop(Protocol):
    node_id: str
    arrive_s: float
    depart_s: float


class _Pass(Protocol):
    segment: str
    direction: Direction
    enter_s: float
    exit_s: float


class _Interval(Protocol):
    start_s: float
    end_s: float


class _Stay(_Interval, Protocol):
    node: str


class _Service(_Interval, Protocol):
    station: str


class TripLike(Protocol):
    """What the checker reads of a trip (the fields of ``router.Trip``)."""

    truck: str
    direction: Direction
    border_s: float | None
    clearance_s: float

    @property
    def stops(self) -> Sequence[_Stop]: ...
    @property
    def passes(self) -> Sequence[_Pass]: ...
    @property
    def stays(self) -> Sequence[_Stay]: ...
    @property
    def services(self) -> Sequence[_Service]: ...


@dataclass(frozen=True)
class Violation:
    """One broken invariant."""

    rule: str
    detail: str


def standing_limits(lane_map: LaneMap) -> dict[str, float]:
    """Trucks that may stand at each node: the one definition,
    :func:`~corridor_core.interlock.limits.standing_capacity` (any number at yards and
    parking, otherwise holding slots plus the service lanes of the stations there)."""
    return standing_capacities(lane_map)


def following_headways(
    lane_map: LaneMap, vehicle_length_m: float, max_speed_kph: float
) -> dict[str, float]:
    """Minimum same-direction headway on each segment at its driving speed (the map's
    following rule, :meth:`~corridor_core.lane_map.FollowingRule.headway_s`)."""
    out = {}
    for seg in lane_map.segments:
        v = min(seg.speed_limit_kph, max_speed_kph) / 3.6
        out[seg.segment_id] = lane_map.following_for(seg).headway_s(v, vehicle_length_m)
    return out


def check_plan(
    lane_map: LaneMap,
    trips: Iterable[TripLike],
    open_intervals: dict[Direction, list[tuple[float, float, float]]] | None,
    headway_s: dict[str, float] | None = None,
    slot_limit: dict[str, float] | None = None,
    server_limit: dict[str, int] | None = None,
) -> list[Violation]:
    """All violations in ``trips`` (objects with the fields of ``router.Trip``).

    Args:
        open_intervals: per direction, (open_s, last_entry_s, close_s); None: no windows.
        headway_s: minimum same-direction headway per segment id.
        slot_limit: trucks that may stand at each node (inf for yards).
        server_limit: servers per station id.
    """
    all_trips = list(trips)
    vehicle = lane_map.vehicle_class()
    headway_s = headway_s or following_headways(lane_map, vehicle.length_m, vehicle.max_speed_kph)
    slot_limit = slot_limit or standing_limits(lane_map)
    server_limit = server_limit or {s.station_id: s.servers for s in lane_map.stations}
    out: list[Violation] = []
    border = {n.node_id for n in lane_map.nodes if n.kind is NodeKind.BORDER_POINT}
    segments = {s.segment_id: s for s in lane_map.segments}
    by_segment: dict[str, list[tuple[str, str, float, float]]] = defaultdict(list)
    stays: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    services: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for t in all_trips:
        out += _check_path(lane_map, t)
        for p in t.passes:
            by_segment[p.segment].append((t.truck, p.direction.value, p.enter_s, p.exit_s))
        for s in t.stays:
            stays[s.node].append((s.start_s, s.end_s, t.truck))
        for v in t.services:
            services[v.station].append((v.start_s, v.end_s, t.truck))
        out += _check_windows(t, border, open_intervals)
        if t.border_s is not None and t.border_s < t.clearance_s - TOL:
            out.append(
                Violation(
                    "crossing_before_clearance",
                    f"{t.truck} crossed at {t.border_s:.1f} s, cleared {t.clearance_s:.1f} s",
                )
            )
        out += _check_waits(lane_map, t, slot_limit)
    for seg_id, items in by_segment.items():
        seg = segments[seg_id]
        out += _check_segment(
            seg_id,
            seg.lane_mode is LaneMode.SINGLE_ALTERNATING,
            seg.all_clear_s,
            seg.capacity_trucks,
            headway_s.get(seg_id, 0.0),
            items,
        )
    for node, waits in stays.items():
        limit = slot_limit.get(node, 0)
        if _peak(waits) > limit:
            out.append(Violation("holding_over_capacity", f"{node}: {_peak(waits)} > {limit}"))
    for station, uses in services.items():
        servers = server_limit.get(station, 1)
        if _peak(uses) > servers:
            out.append(Violation("station_over_capacity", f"{station}: {_peak(uses)} > {servers}"))
    return out


def _check_path(lane_map: LaneMap, t: TripLike) -> list[Violation]:
    ends = {s.segment_id: {s.from_node, s.to_node} for s in lane_map.segments}
    modes = {s.segment_id: s for s in lane_map.segments}
    out = []
    nodes = [s.node_id for s in t.stops]
    if len(t.passes) != len(nodes) - 1:
        return [Violation("not_a_path", f"{t.truck}: {len(nodes)} stops, {len(t.passes)} passes")]
    for i, p in enumerate(t.passes):
        if p.segment not in ends or ends[p.segment] != {nodes[i], nodes[i + 1]}:
            out.append(
                Violation(
                    "not_a_path",
                    f"{t.truck}: {p.segment} does not join {nodes[i]} and {nodes[i + 1]}",
                )
            )
        elif (
            modes[p.segment].lane_mode is LaneMode.ONE_WAY
            and nodes[i] != modes[p.segment].from_node
        ):
            out.append(Violation("not_a_path", f"{t.truck}: {p.segment} driven against one-way"))
        if i and p.enter_s < t.passes[i - 1].exit_s - TOL:
            out.append(
                Violation(
                    "not_a_path",
                    f"{t.truck}: enters {p.segment} before leaving {t.passes[i - 1].segment}",
                )
            )
    return out


def _check_segment(
    seg_id: str,
    single: bool,
    clear: float,
    capacity: int | None,
    h: float,
    items: list[tuple[str, str, float, float]],
) -> list[Violation]:
    out = []
    items = sorted(items, key=lambda x: x[2])
    for i, (ta, da, ea, xa) in enumerate(items):
        for tb, db, eb, xb in items[i + 1 :]:
            if eb >= xa + clear + TOL and eb >= ea + h:
                break
            if da != db and single and eb < xa + clear - TOL:
                out.append(
                    Violation("head_on", f"{seg_id}: {ta} ({da}) and {tb} ({db}) at {eb:.1f} s")
                )
            if da == db and (eb - ea < h - TOL or (xb - xa) < h - TOL):
                out.append(
                    Violation(
                        "following",
                        f"{seg_id}: {ta} and {tb} enter {eb - ea:.1f} s"
                        f" / leave {xb - xa:.1f} s apart < {h:.1f} s",
                    )
                )
    if capacity is not None:
        peak = _peak([(e, x, t) for t, _, e, x in items])
        if peak > capacity:
            out.append(Violation("segment_over_capacity", f"{seg_id}: {peak} > {capacity}"))
    return out


def _check_windows(
    t: TripLike,
    border: set[str],
    intervals: dict[Direction, list[tuple[float, float, float]]] | None,
) -> list[Violation]:
    if intervals is None:
        return []
    spans = intervals[t.direction]
    entry, exit_ = t.stops[0].depart_s, t.stops[-1].arrive_s
    span = next((s for s in spans if s[0] - TOL <= entry < s[2]), None)
    if span is None:
        return [
            Violation(
                "outside_window", f"{t.truck} enters the lane at {entry:.1f} s, in no open interval"
            )
        ]
    out = []
    past = False
    for stop, p in zip(t.stops, t.passes, strict=False):
        past = past or stop.node_id in border
        if not past and p.enter_s >= span[1] + TOL:
            out.append(
                Violation(
                    "after_last_entry",
                    f"{t.truck} enters {p.segment} at "
                    f"{p.enter_s:.1f} s, last entry {span[1]:.1f} s",
                )
            )
    if exit_ > span[2] + TOL:
        out.append(
            Violation(
                "lane_not_empty_at_close",
                f"{t.truck} leaves the lane at {exit_:.1f} s, close {span[2]:.1f} s",
            )
        )
    return out


def _check_waits(lane_map: LaneMap, t: TripLike, slot_limit: dict[str, float]) -> list[Violation]:
    out = []
    station_node = {s.station_id: s.node for s in lane_map.stations}
    for stop in t.stops[1:-1]:
        wait = stop.depart_s - stop.arrive_s
        station_time = sum(
            v.end_s - v.start_s for v in t.services if station_node.get(v.station) == stop.node_id
        )
        idle = wait - station_time
        if idle > TOL and slot_limit.get(stop.node_id, 0) <= 0:
            out.append(
                Violation(
                    "wait_where_no_holding", f"{t.truck} waits {idle:.1f} s at {stop.node_id}"
                )
            )
    return out


def _peak(items: list[tuple[float, float, str]]) -> int:
    points = []
    for start, end, _ in items:
        if end - start > TOL:  # intervals that touch within the tolerance do not overlap
            points += [(start + TOL / 2, 1), (end - TOL / 2 if not math.isinf(end) else end, -1)]
    points.sort(key=lambda p: (p[0], p[1]))
    level = best = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best
