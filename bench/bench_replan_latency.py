"""Re-planning latency: one event with 100 trucks in plan on the reference corridor.

Events drawn in turn: a breakdown closing a single-lane block, the crossing token withheld
for 20 min, a truck reporting 90 s late, an urgent run, a customs hold. Ours re-plans only the
horizons the event touches; the baseline re-plans every truck's horizon from scratch (what a
planner without incremental repair does). Metric: p99 latency in ms over 200 events, each on a
copy of the same planned state.
"""

from __future__ import annotations

import copy
import statistics
import time

import numpy as np
from instances import REFERENCE

from corridor_core.iso6346 import with_check_digit
from corridor_core.map_io import load_map
from corridor_core.planning.planner import Planner
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction

NAME = "replan_latency"
METRIC = "p99 ms per event (100 trucks)"
BASELINE_NAME = "full re-plan of all horizons"
TARGET = "p99 <= 50 ms"
EVENTS = 200


def planned_state(seed: int = 1) -> Planner:
    lane_map = load_map(REFERENCE)
    planner = Planner(lane_map, WindowCalendar.always_open())
    for k in range(100):
        planner.add_truck(f"T{k:03d}", "Z-CN" if k % 2 == 0 else "Z-VN", 0.0)
    rng = np.random.default_rng(seed)
    for i in range(300):
        south = rng.random() < 0.55
        o, d, di = (
            ("Z-CN", "Z-VN", Direction.SOUTHBOUND)
            if south
            else ("Z-VN", "Z-CN", Direction.NORTHBOUND)
        )
        planner.add_run(
            ContainerRun(f"R{i:04d}", with_check_digit(f"BNCU{100000 + i}"), o, d, di, 0.0),
            0.0,
            cleared_s=0.0,
        )
    return planner


def _event(planner: Planner, k: int, now: float) -> None:
    kind = k % 5
    trucks = sorted(t for t, s in planner.trucks.items() if s.trips)
    if kind == 0:
        planner.block_segment("S2", now)
    elif kind == 1:
        planner.withhold_token(now, now + 1200)
    elif kind == 2 and trucks:
        truck = trucks[k % len(trucks)]
        state = planner.trucks[truck]
        stop = state.trips[0].stops[min(state.position + 1, len(state.trips[0].stops) - 1)]
        planner.report_position(truck, stop.node_id, stop.arrive_s + 90)
    elif kind == 3:
        planner.add_run(
            ContainerRun(
                f"U{k:04d}",
                with_check_digit(f"URGU{100000 + k}"),
                "Z-CN",
                "Z-VN",
                Direction.SOUTHBOUND,
                now,
            ),
            now,
            now,
            urgent=True,
        )
    else:
        run_id = sorted(r for r, rec in planner.runs.items() if rec.truck and not rec.done)[k % 50]
        planner.set_clearance(run_id, False, now)


def _p99(samples: list[float]) -> float:
    return float(np.percentile(samples, 99))


def measure() -> tuple[float, float]:
    base = planned_state()
    ours, full = [], []
    for k in range(EVENTS):
        now = 60.0
        planner = copy.deepcopy(base)
        start = time.perf_counter()
        _event(planner, k, now)
        ours.append((time.perf_counter() - start) * 1000)
        planner = copy.deepcopy(base)
        start = time.perf_counter()
        _event(planner, k, now)
        planner._replan_trucks(set(planner.trucks), now)
        full.append((time.perf_counter() - start) * 1000)
    return _p99(ours), _p99(full)


def met(ours: float, baseline: float) -> bool:
    return ours <= 50.0


if __name__ == "__main__":
    o, b = measure()
    print(f"p99 ours {o:.1f} ms, full {b:.1f} ms; median ours {statistics.median([o]):.1f}")
