"""A run directory for the loop (``corridor run --out DIR``) in the simulator's formats.

From the rows :mod:`corridor_sim.loop_rows` rebuilt out of the MQTT recording, this writes
``scenario.json``, ``map.yaml`` (and ``agreement.yaml``), ``occupancy.csv``, ``crossings.csv``
and ``metrics.json`` as ``docs/sim-outputs.md`` describes them, then runs the independent
checker (:mod:`corridor_sim.run_check`) on the directory and puts its findings into the
metrics (``conflicts``, ``window_violations``, ``corridor_empty_at_close``), as the simulator
does. The throughput figures use the simulator's keys and definitions (loaded trips crossing
the border point per hour of open window), so the two can be compared.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corridor_core.agreement import load_agreement
from corridor_core.capacity import calculate
from corridor_core.lane_map import LaneMap
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction
from corridor_sim.loop_rows import LoopRows
from corridor_sim.metrics import add_check, open_hours
from corridor_sim.run_check import Violation


@dataclass(frozen=True)
class LoopRun:
    """What the loop ran; ``end_s`` is the measured span [0, end_s) on the loop's clock."""

    lane_map: LaneMap
    map_path: Path
    agreement_path: Path | None
    epoch: dt.datetime
    end_s: float
    preset: str
    seed: int
    fleet: int
    southbound_share: float
    offered_loads: int
    controller: str = "vehicle_bridge"
    time_scale: float = 50.0


def _calendar(run: LoopRun) -> WindowCalendar:
    if run.agreement_path is None:
        return WindowCalendar.always_open()
    return WindowCalendar.from_agreement(load_agreement(run.agreement_path), run.epoch, run.end_s)


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def loop_metrics(run: LoopRun, rows: LoopRows) -> dict[str, Any]:
    """The simulator's throughput metrics, measured on the rows of the loop."""
    end = run.end_s
    calendar = _calendar(run)
    hours = {d: open_hours(calendar, d, 0.0, end) for d in Direction}
    hours_total = max(hours.values())
    crossed = [c for c in rows.crossings if 0.0 <= c[4] < end]
    trips = {(c[1], c[4]): c[2] for c in crossed}  # a 2 x 20' pair crosses as one trip
    by_dir = Counter(trips.values())
    total = len(trips) / hours_total if hours_total else 0.0
    delivered = [d for d in rows.deliveries if 0.0 <= d.at_s < end]
    by_dir_delivered = Counter(d.direction.value for d in delivered)
    report = calculate(run.lane_map, fleet_size=run.fleet, southbound_share=run.southbound_share)
    y2y = [b - a for a, b in rows.yard_to_yard_s if 0.0 <= b < end]
    stations: dict[str, dict[str, Any]] = {}
    for st in sorted(run.lane_map.stations, key=lambda s: s.station_id):
        own = [r for r in rows.occupancy if r[2] == "station" and r[1] == st.station_id]
        busy = sum(max(0.0, min(r[5], end) - max(r[4], 0.0)) for r in own)
        stations[st.station_id] = {
            "utilisation": round(busy / (st.servers * end), 4) if end > 0 else 0.0,
            "served": sum(1 for r in own if 0.0 <= r[4] < end),
        }
    return {
        "throughput_per_h": {
            "total": round(total, 2),
            **{
                d.value: round(by_dir[d.value] / hours[d], 2) if hours[d] else 0.0
                for d in Direction
            },
        },
        "containers_per_h": round(len(crossed) / hours_total, 2) if hours_total else 0.0,
        "bound_per_h": round(report.binding_bound_per_h, 2),
        "bound_binding": report.binding_element,
        "share_of_bound": round(total / report.binding_bound_per_h, 4),
        "window_hours": round(hours_total, 3),
        "loaded_trips": len(trips),
        "offered_loads": run.offered_loads,
        "delivered_per_h": {
            "total": round(len(delivered) / hours_total, 2) if hours_total else 0.0,
            **{
                d.value: round(by_dir_delivered[d.value] / hours[d], 2) if hours[d] else 0.0
                for d in Direction
            },
        },
        "yard_to_yard_s": {"p50": _percentile(y2y, 50), "p95": _percentile(y2y, 95)},
        "stations": stations,
        "vda5050": {
            "states": rows.states,
            "stale_states": rows.stale_states,
            "unordered_moves": len(rows.unordered_moves),
        },
    }


def _time(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "inf"


def write_loop_run(
    run: LoopRun, rows: LoopRows, out: Path
) -> tuple[dict[str, Any], list[Violation]]:
    """Write the run directory, check it, write ``metrics.json``; the metrics and violations."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.map_path, out / "map.yaml")
    if run.agreement_path is not None:
        shutil.copyfile(run.agreement_path, out / "agreement.yaml")
    scenario = {
        "scenario": f"corridor run ({run.lane_map.name})",
        "source": "corridor run: the real stack, rows rebuilt from its VDA 5050 messages",
        "map_file": "map.yaml",
        "agreement_file": "agreement.yaml" if run.agreement_path is not None else None,
        "epoch": run.epoch.isoformat(),
        "start_s": 0.0,
        "end_s": run.end_s,
        "preset": run.preset,
        "controller": run.controller,
        "seed": run.seed,
        "fleet": run.fleet,
        "disruptions": [],
        "time_scale": run.time_scale,
    }
    (out / "scenario.json").write_text(json.dumps(scenario, indent=2) + "\n", encoding="utf-8")
    with open(out / "occupancy.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["vehicle_id", "resource_id", "resource_kind", "direction", "enter_s", "exit_s"])
        for row in rows.occupancy:
            w.writerow([*row[:4], _time(row[4]), _time(row[5])])
    with open(out / "crossings.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["container_id", "vehicle_id", "direction", "clearance_s", "border_s"])
        for c in rows.crossings:
            w.writerow([c[0], c[1], c[2], _time(c[3]), _time(c[4])])
    metrics = loop_metrics(run, rows)
    violations = add_check(metrics, out)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics, violations
