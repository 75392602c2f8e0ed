"""What a study measured: throughput against the capacity bound, times, SLAs, stations.

Safety numbers (``conflicts``, ``window_violations``, ``corridor_empty_at_close``) come from the
independent checker (:mod:`corridor_sim.run_check`) run on the written files, not from the
engine's own bookkeeping: see :func:`add_check`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from corridor_core.capacity import calculate
from corridor_core.lane_map import LaneMap
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction
from corridor_sim.engine import CorridorEngine

CONFLICT_RULES = ("opposite_directions", "over_capacity", "crossing_before_clearance", "bad_row")
WINDOW_RULES = ("crossing_outside_window",)


def open_hours(calendar: WindowCalendar, direction: Direction, a_s: float, b_s: float) -> float:
    """Hours of [a_s, b_s) during which ``direction`` may cross."""
    total = 0.0
    for span in calendar.intervals[direction]:
        lo, hi = max(a_s, span.open_s), min(b_s, span.close_s)
        if hi > lo:
            total += hi - lo
    return total / 3600.0


def measure(
    engine: CorridorEngine,
    calendar: WindowCalendar,
    lane_map: LaneMap,
    southbound_share: float,
    fleet: int,
) -> dict[str, Any]:
    """Metrics over the study hours [0, end_s) (the warm-up before 0 is not counted)."""
    end = engine.cfg.end_s
    runs = list(engine.runs.values())
    crossed = [r for r in runs if not math.isnan(r.border_s) and 0.0 <= r.border_s < end]
    hours = {d: open_hours(calendar, d, 0.0, end) for d in Direction}
    hours_total = max(hours.values())
    per_dir = {
        d.value: sum(1 for r in crossed if r.run.direction is d) / hours[d] if hours[d] else 0.0
        for d in Direction
    }
    total = len(crossed) / hours_total if hours_total else 0.0
    boxes = sum(len(r.boxes) for r in crossed)
    report = calculate(lane_map, fleet_size=fleet, southbound_share=southbound_share)
    y2y = [t[3] - t[2] for t in engine.loaded_trips if 0.0 <= t[3] < end]
    reefers = [r for r in runs if r.arrival.reefer and r.arrival.due_s <= end]
    met = [r for r in reefers if not math.isnan(r.delivered_s) and r.delivered_s <= r.arrival.due_s]
    stations = {}
    for sid, st in sorted(engine.stations.items()):
        waits = st.stats.waits_s
        stations[sid] = {
            "utilisation": round(st.utilisation(), 4),
            "queue_mean": round(st.queue_mean(), 3),
            "queue_max": st.stats.queue_max,
            "served": st.stats.served,
            "wait_mean_s": round(float(np.mean(waits)), 2) if waits else 0.0,
        }
    trips = engine.one_way_trips
    loaded = len(engine.loaded_trips)
    return {
        "throughput_per_h": {
            "total": round(total, 2),
            **{k: round(v, 2) for k, v in per_dir.items()},
        },
        "containers_per_h": round(boxes / hours_total, 2) if hours_total else 0.0,
        "bound_per_h": round(report.binding_bound_per_h, 2),
        "bound_binding": report.binding_element,
        "share_of_bound": round(total / report.binding_bound_per_h, 4),
        "window_hours": round(hours_total, 3),
        "loaded_trips": len(crossed),
        "offered_loads": sum(1 for r in runs if 0.0 <= r.arrival.t_s < end),
        "yard_to_yard_s": {
            "p50": round(float(np.percentile(y2y, 50)), 1) if y2y else None,
            "p95": round(float(np.percentile(y2y, 95)), 1) if y2y else None,
        },
        "reefer_sla_met": round(len(met) / len(reefers), 4) if reefers else None,
        "stations": stations,
        "loaded_per_round_trip": round(2 * loaded / trips, 3) if trips else 0.0,
        "disruptions": dict(sorted(engine.disruption_counts.items())),
        "interlock_waits": engine.counts["interlock_waits"],
        "late_reports": engine.counts["late_reports"],
        "stuck_trucks": sum(
            1
            for t in engine.trucks.values()
            if t.cargo and not t.busy and t.truck_id in engine.waiting
        ),
    }


def add_check(metrics: dict[str, Any], run_dir: Path) -> list[Any]:
    """Run the independent checker on ``run_dir`` and put its findings into ``metrics``."""
    from corridor_sim.run_check import check_run

    found = check_run(run_dir)
    metrics["conflicts"] = sum(1 for v in found if v.rule in CONFLICT_RULES)
    metrics["window_violations"] = sum(1 for v in found if v.rule in WINDOW_RULES)
    metrics["corridor_empty_at_close"] = not any(v.rule == "lane_not_empty_at_close" for v in found)
    return found
