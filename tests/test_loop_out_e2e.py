"""End to end: ``corridor run --out DIR`` over the whole stack (separate processes, the real
broker, OPC UA server and ROS), a few simulated minutes at x50.

The run directory is rebuilt from the recorded VDA 5050 messages: its files must exist and
parse in the simulator's formats, the emulated trucks must have spent crane time (station rows
of the yard cranes, at least their set-up long), and the checker's verdict printed by the
command must be the one ``corridor sim check`` gives on the same directory.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from corridor_sim.run_check import CROSSING_COLUMNS, OCCUPANCY_COLUMNS, check_run

from .corridor_cli import run_corridor

pytestmark = pytest.mark.e2e


def test_corridor_run_out_writes_checked_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_corridor(
        "run", "--preset", "stress", "--minutes", "6", "--seed", "3",
        "--out", str(out), "--run-dir", str(tmp_path / "run"), timeout_s=180,
    )  # fmt: skip
    assert (out / "mqtt.jsonl").stat().st_size > 0
    with open(out / "occupancy.csv", encoding="utf-8") as f:
        occupancy = list(csv.DictReader(f))
    with open(out / "crossings.csv", encoding="utf-8") as f:
        crossings = list(csv.DictReader(f))
        assert tuple(crossings[0].keys() if crossings else CROSSING_COLUMNS) == CROSSING_COLUMNS
    assert occupancy and tuple(occupancy[0].keys()) == OCCUPANCY_COLUMNS
    cranes = [
        float(r["exit_s"]) - float(r["enter_s"])
        for r in occupancy
        if r["resource_kind"] == "station" and r["resource_id"].endswith("-YARD")
    ]
    assert cranes and min(cranes) >= 30.0  # every lift includes the crane's 30 s set-up
    assert {r["resource_kind"] for r in occupancy} == {"segment", "station", "node"}
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["throughput_per_h"]) == {"total", "SOUTHBOUND", "NORTHBOUND"}
    assert metrics["bound_per_h"] == pytest.approx(100.0)
    assert isinstance(metrics["conflicts"], int)
    scenario = json.loads((out / "scenario.json").read_text(encoding="utf-8"))
    assert scenario["end_s"] == pytest.approx(360.0)
    found = check_run(out)
    verdict = re.search(r"checker \(corridor sim check\): (.*)", done.stdout)
    assert verdict is not None, done.stdout[-3000:]
    if found:
        assert verdict.group(1).startswith(f"{len(found)} violations")
    else:
        assert verdict.group(1) == "OK, no violations"
