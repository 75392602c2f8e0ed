"""Batch planning tries priority orders and keeps the shortest safe makespan."""

from corridor_core.planning.batch import TripRequest, candidate_orders, plan_batch
from corridor_core.planning.checker import check_plan
from corridor_core.planning.reservations import ReservationTable
from corridor_core.planning.router import CORRIDOR, Router
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction

from .planning_harness import make_map

S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND


def test_batch_is_safe_and_no_worse_than_any_single_order() -> None:
    lane_map = make_map([("single_alternating", 400.0, 3), ("single_alternating", 300.0, 2)])
    router = Router(lane_map, lane_map.vehicle_class(), CORRIDOR, WindowCalendar.always_open())
    south, north = tuple(lane_map.route("ZA", "ZB")), tuple(lane_map.route("ZB", "ZA"))
    requests = [TripRequest(f"S{i}", south, 0.0, S) for i in range(4)]
    requests += [TripRequest(f"N{i}", north, 0.0, N) for i in range(3)]
    trips = plan_batch(router, ReservationTable(), requests)
    assert trips is not None and [t.truck for t in trips] == [r.truck for r in requests]
    assert check_plan(lane_map, trips, None) == []
    best = max(t.lane_exit_s for t in trips)
    for order in candidate_orders(requests):
        table = ReservationTable()
        makespan = 0.0
        for req in order:
            trip = router.plan(table, req.truck, list(req.legs), 0.0)
            assert trip is not None
            trip.reserve(table)
            makespan = max(makespan, trip.lane_exit_s)
        assert best <= makespan + 1e-9
