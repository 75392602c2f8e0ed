"""The reservation table: who holds which shared resource when.

Resources: segments (passes, by direction), nodes (stays: waiting or being served, limited by
holding slots), stations (servers) and blockages (a breakdown closing a segment, the crossing
token withheld at the border point). Queries answer "the earliest time at or after t when this
truck may take the resource"; every answer only moves forward in time, so searches terminate.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field

from corridor_core.runs import Direction

EPS = 1e-6


@dataclass(frozen=True)
class Pass:
    """A truck on a segment in one direction during [enter_s, exit_s)."""

    truck: str
    segment: str
    direction: Direction
    enter_s: float
    exit_s: float


@dataclass(frozen=True)
class Stay:
    """A truck standing at a node during [start_s, end_s) (end may be infinite)."""

    truck: str
    node: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Service:
    """A truck holding one server of a station during [start_s, end_s)."""

    truck: str
    station: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Blockage:
    """A segment or node closed to everyone during [start_s, end_s)."""

    resource: str
    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class SegmentRule:
    """How a segment may be shared, for one vehicle class and controller.

    Attributes:
        headway_s: minimum gap between two same-direction trucks' entries (and exits).
        single_lane: True when opposite directions exclude each other.
        all_clear_s: gap between the last exit of one direction and the next opposite entry.
        capacity: trucks on the segment at once.
        platoon_cap: on single-lane segments, trucks per convoy before the block must clear.
    """

    headway_s: float
    single_lane: bool
    all_clear_s: float
    capacity: int
    platoon_cap: int


@dataclass
class ReservationTable:
    """All reservations. Not thread-safe."""

    passes: dict[str, list[Pass]] = field(default_factory=lambda: defaultdict(list))
    stays: dict[str, list[Stay]] = field(default_factory=lambda: defaultdict(list))
    services: dict[str, list[Service]] = field(default_factory=lambda: defaultdict(list))
    blockages: dict[str, list[Blockage]] = field(default_factory=lambda: defaultdict(list))

    # --- changes ---------------------------------------------------------------------------
    def add_pass(self, p: Pass) -> None:
        """Reserve a pass."""
        self.passes[p.segment].append(p)

    def add_stay(self, s: Stay) -> None:
        """Reserve a stay."""
        self.stays[s.node].append(s)

    def add_service(self, s: Service) -> None:
        """Reserve a server."""
        self.services[s.station].append(s)

    def add_blockage(self, b: Blockage) -> None:
        """Close a resource."""
        self.blockages[b.resource].append(b)

    def clear_blockages(self, resource: str, at_s: float) -> None:
        """End every blockage of ``resource`` at ``at_s``."""
        self.blockages[resource] = [
            Blockage(b.resource, b.start_s, min(b.end_s, at_s), b.reason)
            for b in self.blockages[resource]
            if b.start_s < at_s
        ]

    def drop(self, truck: str, keep: set[Pass | Stay | Service] | None = None) -> None:
        """Remove every reservation of ``truck`` except those in ``keep``."""
        kept = keep or set()
        for key in list(self.passes):
            self.passes[key] = [r for r in self.passes[key] if r.truck != truck or r in kept]
        for key in list(self.stays):
            self.stays[key] = [r for r in self.stays[key] if r.truck != truck or r in kept]
        for key in list(self.services):
            self.services[key] = [r for r in self.services[key] if r.truck != truck or r in kept]

    def prune(self, before_s: float) -> None:
        """Forget reservations that ended before ``before_s`` (history no query needs)."""
        for key in list(self.passes):
            self.passes[key] = [r for r in self.passes[key] if r.exit_s >= before_s]
        for key in list(self.stays):
            self.stays[key] = [r for r in self.stays[key] if r.end_s >= before_s]
        for key in list(self.services):
            self.services[key] = [r for r in self.services[key] if r.end_s >= before_s]

    # --- queries ---------------------------------------------------------------------------
    def blocked_until(self, resource: str, start_s: float, end_s: float) -> float | None:
        """If a blockage overlaps [start_s, end_s), when it ends; else None."""
        for b in self.blockages.get(resource, ()):
            if b.start_s < end_s and start_s < b.end_s:
                return b.end_s
        return None

    def earliest_pass(
        self,
        segment: str,
        direction: Direction,
        t: float,
        traversal_s: float,
        rule: SegmentRule,
        truck: str = "",
    ) -> float:
        """The earliest entry at or after ``t`` that conflicts with no reservation.

        Returns ``math.inf`` when the segment is blocked with no known end.
        """
        others = [p for p in self.passes.get(segment, ()) if p.truck != truck]
        # The same partitions of ``others`` every step of the search: made once. The search
        # only moves later, so a pass that no longer conflicts at ``t`` and never will is left
        # out: a same-direction one that left before ``t`` (entry and exit a headway or more
        # before the truck's), an opposite one whose all-clear ends by ``t``.
        gap = max(0.0, rule.headway_s - EPS)
        end = t + traversal_s
        same = [
            p
            for p in others
            if p.direction is direction
            and not (p.exit_s <= t and t - p.enter_s >= gap and end - p.exit_s >= gap)
        ]
        opposed = (
            [
                p
                for p in others
                if p.direction is not direction and t < p.exit_s + rule.all_clear_s - EPS
            ]
            if rule.single_lane
            else []
        )
        ordered = sorted(others, key=_enter) if rule.single_lane else []
        enters = [p.enter_s for p in ordered]
        e = t
        for _ in range(10_000):
            if math.isinf(e):
                return e
            x = e + traversal_s
            later = self._conflict(same, opposed, ordered, enters, direction, e, x, traversal_s,
                                   rule)  # fmt: skip
            blocked = self.blocked_until(segment, e, x)
            if blocked is not None:
                later = max(later or 0.0, blocked)
            if later is None:
                return e
            e = max(later, e + EPS)
        raise RuntimeError(f"no entry found on {segment} after 10000 steps")

    @staticmethod
    def _conflict(
        same: list[Pass],
        opposed: list[Pass],
        ordered: list[Pass],
        enters: list[float],
        direction: Direction,
        e: float,
        x: float,
        tau: float,
        rule: SegmentRule,
    ) -> float | None:
        """A time after which the conflict with some reservation is gone, or None.

        The other trucks' passes come as ``same`` (its direction) and ``opposed`` (the other,
        only needed on single-lane segments), each in table order, and ``ordered``: all of
        them sorted by entry (stable), with ``enters`` their entry times.
        """
        h = rule.headway_s
        for p in same:
            if (
                abs(e - p.enter_s) < h - EPS
                or abs(x - p.exit_s) < h - EPS
                or ((e - p.enter_s) * (x - p.exit_s) < 0)
            ):
                return max(p.enter_s + h, p.exit_s + h - tau)
        if rule.single_lane:
            for p in opposed:
                if p.enter_s < x + rule.all_clear_s - EPS and (
                    e < p.exit_s + rule.all_clear_s - EPS
                ):
                    return p.exit_s + rule.all_clear_s
            convoy = _convoy_around(ordered, enters, direction, e, tau)
            if len(convoy) >= rule.platoon_cap:
                return max(p.exit_s for p in convoy) + rule.all_clear_s
        overlapping = [p for p in same if p.enter_s < x and e < p.exit_s]
        if len(overlapping) >= rule.capacity:
            return min(p.exit_s for p in overlapping)
        return None

    def node_free(
        self, node: str, start_s: float, end_s: float, slots: float, truck: str = ""
    ) -> bool:
        """True when one more truck fits at ``node`` during [start_s, end_s)."""
        if end_s - start_s <= EPS:
            return True
        if slots <= 0:
            return False
        if math.isinf(slots):
            return True
        stays = [
            s for s in self.stays.get(node, ()) if s.truck != truck and s.end_s - s.start_s > EPS
        ]
        return _max_overlap(stays, start_s, end_s) + 1 <= slots

    def earliest_service(
        self, station: str, t: float, duration_s: float, servers: int, truck: str = ""
    ) -> float:
        """The earliest start at or after ``t`` of a service of ``duration_s`` on a free server.

        One sweep over the station's uses in time order finds the first stretch with a server
        free for ``duration_s``; the stretch is confirmed with the exact overlap count (and the
        search goes on from there in the rare case the two disagree within EPS).
        """
        uses = [u for u in self.services.get(station, ()) if u.truck != truck and u.end_s > t + EPS]
        s = _first_free_stretch(uses, t, duration_s, servers)
        ends: list[float] | None = None  # sorted when first needed
        for _ in range(10_000):
            if math.isinf(s) or _max_overlap(uses, s, s + duration_s) < servers:
                return s
            if ends is None:
                ends = sorted(u.end_s for u in uses)
            s = next((e for e in ends if e > s + EPS), math.inf)
        raise RuntimeError(f"no server found at {station} after 10000 steps")


def _first_free_stretch(uses: list[Service], t: float, duration_s: float, servers: int) -> float:
    """The first time at or after ``t`` from which fewer than ``servers`` uses run for
    ``duration_s`` on end (inf if never; it is never when ``servers`` is 0)."""
    if servers <= 0:
        return math.inf
    # (time, step) pairs in natural order: at equal times the ends (-1) come first
    points = sorted([(u.start_s, 1) for u in uses] + [(u.end_s, -1) for u in uses])
    level, i = 0, 0
    while i < len(points) and points[i][0] <= t + EPS:
        level += points[i][1]
        i += 1
    free_from: float | None = t if level < servers else None
    while i < len(points):
        x = points[i][0]
        if free_from is not None and x - free_from >= duration_s - EPS:
            return free_from
        while i < len(points) and points[i][0] == x:
            level += points[i][1]
            i += 1
        if level >= servers:
            free_from = None
        elif free_from is None:
            free_from = x
    return free_from if free_from is not None else math.inf


def _enter(p: Pass) -> float:
    return p.enter_s


def _convoy_around(
    ordered: list[Pass], enters: list[float], direction: Direction, e: float, tau: float
) -> list[Pass]:
    """Same-direction passes that would share the block with an entry at ``e`` as one convoy:
    the chain of passes, without an opposite pass between, each overlapping the next.
    ``ordered``: the other passes sorted by entry; ``enters``: their entry times."""
    split = bisect_right(enters, e)  # ordered[:split] enter at or before e
    convoy: list[Pass] = []
    edge_enter, edge_exit = e, e + tau
    for k in range(split - 1, -1, -1):
        p = ordered[k]
        if p.direction is not direction or p.exit_s <= edge_enter:
            break
        convoy.append(p)
        edge_enter = p.enter_s
    for k in range(split, len(ordered)):
        p = ordered[k]
        if p.direction is not direction or p.enter_s >= edge_exit:
            break
        convoy.append(p)
        edge_exit = p.exit_s
    return convoy


def _max_overlap(intervals: list, start_s: float, end_s: float) -> int:  # type: ignore[type-arg]
    """The most intervals (with start_s/end_s) overlapping at any instant of [start_s, end_s)."""
    points = []
    for r in intervals:
        lo, hi = max(r.start_s, start_s), min(r.end_s, end_s)
        if lo < hi - EPS:
            points.append((lo, 1))
            points.append((hi, -1))
    points.sort()  # by time, then ends (-1) before starts
    best = level = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best
