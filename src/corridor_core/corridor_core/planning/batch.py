"""Planning a batch of trips together: try a few priority orders, keep the shortest makespan.

Prioritized planning is only as good as its order. For trucks meeting head-on on single-lane
sections the useful orders are few and cheap to try: one direction first (platoons), the other
first, and the two interleaved in platoons of a few trucks, either way. Each order plans on a
copy of the table; the best (shortest makespan, then smallest sum of arrival times) is
reserved for real.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from corridor_core.lane_map import RouteLeg
from corridor_core.planning.reservations import ReservationTable
from corridor_core.planning.router import Router, Trip
from corridor_core.runs import Direction


@dataclass(frozen=True)
class TripRequest:
    """One truck to route along ``legs`` from ``depart_s``."""

    truck: str
    legs: tuple[RouteLeg, ...]
    depart_s: float
    direction: Direction
    run_id: str = ""
    clearance_s: float = 0.0


def candidate_orders(requests: list[TripRequest]) -> list[list[TripRequest]]:
    """Southbound first, northbound first, and platoon interleavings of 1 to 8 trucks either
    way (requests keep their order within a direction)."""
    south = [r for r in requests if r.direction is Direction.SOUTHBOUND]
    north = [r for r in requests if r.direction is Direction.NORTHBOUND]

    def interleave(a: list[TripRequest], b: list[TripRequest], chunk: int) -> list[TripRequest]:
        out: list[TripRequest] = []
        for i in range(0, max(len(a), len(b)), chunk):
            out += a[i : i + chunk] + b[i : i + chunk]
        return out

    orders = [south + north, north + south]
    for chunk in (1, 2, 3, 4, 6, 8):
        orders += [interleave(south, north, chunk), interleave(north, south, chunk)]
    unique: list[list[TripRequest]] = []
    for order in orders:
        if [r.truck for r in order] not in [[r.truck for r in u] for u in unique]:
            unique.append(order)
    return unique


def plan_batch(
    router: Router, table: ReservationTable, requests: list[TripRequest]
) -> list[Trip] | None:
    """Plan every request in the best of the candidate orders and reserve it in ``table``.

    Returns the trips (in request order), or None when some request cannot be planned in any
    order (nothing is reserved then).
    """
    best: tuple[tuple[float, float], list[Trip]] | None = None
    for order in candidate_orders(requests):
        trial = copy.deepcopy(table)
        trips: dict[str, Trip] = {}
        for req in order:
            trip = router.plan(
                trial, req.truck, list(req.legs), req.depart_s, req.run_id, req.clearance_s
            )
            if trip is None:
                break
            trip.reserve(trial)
            trips[req.truck] = trip
        else:
            key = (
                max(t.lane_exit_s for t in trips.values()),
                sum(t.lane_exit_s for t in trips.values()),
            )
            if best is None or key < best[0]:
                best = (key, [trips[r.truck] for r in requests])
    if best is None:
        return None
    for trip in best[1]:
        trip.reserve(table)
    return best[1]
