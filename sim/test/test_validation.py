"""Validation of the simulator against theory: an M/M/c station (Erlang C) and a free lane
(the following rule's flow)."""

import math

import numpy as np

from corridor_core.map_io import parse_map
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction
from corridor_sim.des import EventQueue, Station
from corridor_sim.engine import CorridorEngine, EngineConfig
from corridor_sim.workload import Arrival


def erlang_c_wait_s(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_mmc_station_matches_erlang_c_within_5_percent() -> None:
    lam, mu, c = 1 / 20.0, 1 / 50.0, 3  # rho = 0.83
    rng = np.random.default_rng(11)
    events = EventQueue()
    station = Station("S", c, events)
    t = 0.0
    for _ in range(150_000):
        t += float(rng.exponential(1 / lam))
        events.at(t, station.request, "x", float(rng.exponential(1 / mu)), lambda *_: None)
    events.run_until(math.inf)
    waits = station.stats.waits_s[5000:]  # drop the warm-up
    expected = erlang_c_wait_s(lam, mu, c)
    assert abs(float(np.mean(waits)) - expected) / expected < 0.05, (np.mean(waits), expected)


def free_lane_map(length_m: float, kph: float) -> dict:
    return {
        "name": "free-lane", "southbound_from": "CN",
        "following_rule": {"standstill_gap_m": 5.0, "time_gap_s": 2.0},
        "vehicle_classes": [{
            "id": "v", "length_m": 17.0, "max_speed_kph": 30.0, "accel_loaded_mps2": 0.5,
            "accel_empty_mps2": 0.8, "braking_mps2": 1.0, "emergency_braking_mps2": 3.0,
            "battery_range_km": 1e6, "swap_every_round_trips": 10_000, "swap_time_s": 300.0}],
        "nodes": [
            {"id": "ZA", "kind": "yard", "jurisdiction": "CN", "x_m": 0.0, "y_m": 0.0},
            {"id": "ZB", "kind": "yard", "jurisdiction": "VN", "x_m": length_m, "y_m": 0.0}],
        "segments": [{"id": "L", "from": "ZA", "to": "ZB", "length_m": length_m,
                      "lane_mode": "two_way_dual", "speed_limit_kph": kph}],
        "stations": [],
    }  # fmt: skip


def test_free_lane_flow_matches_the_following_rule_within_2_percent() -> None:
    lane_map = parse_map(free_lane_map(5000.0, 30.0), "free-lane.yaml")
    fleet = 120
    work = tuple(Arrival(0.0, Direction.SOUTHBOUND, 1, False, 0.0) for _ in range(fleet))
    engine = CorridorEngine(EngineConfig(lane_map=lane_map, calendar=WindowCalendar.always_open(),
                                         fleet=fleet, start_s=0.0, end_s=3 * 3600.0,
                                         arrivals=work, clearance_mean_s=0.0, clearance_sd_s=0.0,
                                         wave_s=None))  # fmt: skip
    engine.run()
    # the half of the fleet that starts at ZA leaves at once: a saturated queue at the entry
    exits = sorted(r[5] for r in engine.occupancy if r[2] == "segment" and r[3] == "SOUTHBOUND")
    assert len(exits) >= fleet // 2
    steady = exits[5 : fleet // 2 - 5]
    measured_per_h = (len(steady) - 1) * 3600.0 / (steady[-1] - steady[0])
    v = 30 / 3.6
    expected_per_h = 3600.0 / ((17.0 + 5.0) / v + 2.0)
    assert abs(measured_per_h - expected_per_h) / expected_per_h < 0.02, (
        measured_per_h,
        expected_per_h,
    )
