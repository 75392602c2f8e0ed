"""Generated corridors: the engine stays safe (independent checker) and live (deliveries every
hour) on corridors nobody tuned it for: two-way and single-lane segments in any order, bays of
one to four places, km 0 at any node, small and large fleets, all three controllers.

The seeds are fixed so CI is reproducible; ``CORRIDOR_FUZZ=N`` runs N more corridors.
"""

import datetime as dt
import json
import math
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from corridor_core.map_io import parse_map
from corridor_core.planning.windows import WindowCalendar
from corridor_sim.engine import CorridorEngine, EngineConfig
from corridor_sim.run_check import check_run
from corridor_sim.study import write_rows
from corridor_sim.workload import arrivals, preset

HOURS = 3
EPOCH = dt.datetime(2027, 3, 2, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
VEHICLE = {
    "id": "etractor", "length_m": 17.0, "max_speed_kph": 30.0, "accel_loaded_mps2": 0.5,
    "accel_empty_mps2": 0.8, "braking_mps2": 1.0, "emergency_braking_mps2": 3.0,
    "battery_range_km": 150.0, "swap_every_round_trips": 16, "swap_time_s": 300.0,
}  # fmt: skip


def corridor(rng: random.Random) -> dict[str, Any]:
    """A linear corridor: yard, gate, 2-6 segments with holding places between, gate, yard."""
    n = rng.randint(2, 6)
    border_at = rng.randrange(n - 1)
    nodes: list[dict[str, Any]] = [
        {"id": "ZA", "kind": "yard", "jurisdiction": "CN", "x_m": 0.0, "y_m": 0.0},
        {"id": "GA", "kind": "gate", "jurisdiction": "CN", "x_m": 20.0, "y_m": 0.0,
         "holding_slots": 2},
    ]  # fmt: skip
    segments: list[dict[str, Any]] = [
        {"id": "YA", "from": "ZA", "to": "GA", "length_m": 20.0, "lane_mode": "two_way_dual",
         "speed_limit_kph": 10.0},
    ]  # fmt: skip
    x, prev = 20.0, "GA"
    for i in range(n):
        mode = rng.choice(["two_way_dual", "single_alternating", "single_alternating"])
        length = float(rng.choice([150, 250, 400, 700]))
        x += length
        last = i == n - 1
        node_id = "GB" if last else f"N{i}"
        kind = "gate" if last else ("border_point" if i == border_at else "holding_pocket")
        nodes.append({"id": node_id, "kind": kind, "jurisdiction": "CN", "x_m": x, "y_m": 0.0,
                      "holding_slots": rng.randint(1, 4)})  # fmt: skip
        segments.append({"id": f"S{i}", "from": prev, "to": node_id, "length_m": length,
                         "lane_mode": mode, "speed_limit_kph": 20.0, "all_clear_s": 8.0})  # fmt: skip
        prev = node_id
    nodes.append({"id": "ZB", "kind": "yard", "jurisdiction": "VN", "x_m": x + 20, "y_m": 0.0})
    segments.append({"id": "YB", "from": prev, "to": "ZB", "length_m": 20.0,
                     "lane_mode": "two_way_dual", "speed_limit_kph": 10.0})  # fmt: skip
    both = ["SOUTHBOUND", "NORTHBOUND"]
    stations = [
        {"id": "GA-GATE", "node": "GA", "kind": "gate", "servers": 1, "directions": both,
         "service_time_s": {"dist": "lognormal", "mean": 20, "sd": 6}},
        {"id": "GB-GATE", "node": "GB", "kind": "gate", "servers": 1, "directions": both,
         "service_time_s": {"dist": "lognormal", "mean": 30, "sd": 10}},
        {"id": "ZA-CRANE", "node": "ZA", "kind": "yard_handling", "servers": 3,
         "directions": both, "service_time_s": {"dist": "lognormal", "mean": 150, "sd": 40}},
        {"id": "ZB-CRANE", "node": "ZB", "kind": "yard_handling", "servers": 3,
         "directions": both, "service_time_s": {"dist": "lognormal", "mean": 150, "sd": 40}},
    ]  # fmt: skip
    return {"name": "generated", "following_rule": {"standstill_gap_m": 5.0, "time_gap_s": 2.0},
            "vehicle_classes": [VEHICLE], "nodes": nodes, "segments": segments,
            "stations": stations}  # fmt: skip


CASES = [(k, c) for k in range(10 + int(os.environ.get("CORRIDOR_FUZZ", "0")))
         for c in ("corridor", "batch3", "fifo")]  # fmt: skip


@pytest.mark.parametrize(("k", "controller"), CASES)
def test_generated_corridor_is_safe_and_live(tmp_path: Path, k: int, controller: str) -> None:
    rng = random.Random(1000 + k)
    doc = corridor(rng)
    fleet = rng.choice([6, 12, 20])
    lane_map = parse_map(doc, "generated.yaml")
    work = arrivals(preset("stress", 40.0), -1800.0, HOURS * 3600.0, EPOCH, "Asia/Ho_Chi_Minh",
                    np.random.default_rng(k))  # fmt: skip
    engine = CorridorEngine(
        EngineConfig(lane_map=lane_map, calendar=WindowCalendar.always_open(),
                     controller=controller, fleet=fleet, start_s=-1800.0,
                     end_s=HOURS * 3600.0, arrivals=tuple(work), seed=k)
    )  # fmt: skip
    engine.run()
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    scenario = {"map_file": "map.yaml", "agreement_file": None, "epoch": EPOCH.isoformat(),
                "start_s": -1800.0, "end_s": HOURS * 3600.0}  # fmt: skip
    (tmp_path / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    write_rows(engine, tmp_path)
    assert check_run(tmp_path) == [], doc
    per_hour = Counter(int(t[3] // 3600) for t in engine.loaded_trips if t[3] >= 0)
    assert all(per_hour[h] > 0 for h in range(HOURS)), (dict(per_hour), doc["segments"])
    assert not any(math.isnan(t[3]) for t in engine.loaded_trips)
