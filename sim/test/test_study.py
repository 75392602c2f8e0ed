"""``corridor sim run`` end to end: the run directory, the independent checker, determinism,
another map, clear errors."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from corridor_sim.cli import standalone
from corridor_sim.disruptions import ALL
from corridor_sim.run_check import check_run
from corridor_sim.study import StudyConfig, execute, run_study

FILES = ("metrics.json", "occupancy.csv", "crossings.csv", "queues.csv", "scenario.json",
         "map.yaml", "agreement.yaml", "report.html", "throughput.png", "space_time.png")  # fmt: skip


def test_run_writes_every_file_and_passes_the_checker(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = standalone(["sim", "run", "--hours", "3", "--seed", "3", "--out", str(tmp_path),
                       "--no-progress", "--disruptions", "all"])  # fmt: skip
    assert code == 0
    for name in FILES:
        assert (tmp_path / name).exists(), name
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["conflicts"] == 0 and m["window_violations"] == 0
    assert m["throughput_per_h"]["total"] > 10
    assert m["bound_per_h"] == pytest.approx(100.0, rel=0.05)
    assert set(m["throughput_per_h"]) == {"total", "SOUTHBOUND", "NORTHBOUND"}
    assert check_run(tmp_path) == []
    assert "throughput" in capsys.readouterr().out


def test_same_seed_same_result_other_seed_differs() -> None:
    a = run_study(StudyConfig(hours=2, seed=5, record=False)).metrics
    b = run_study(StudyConfig(hours=2, seed=5, record=False)).metrics
    c = run_study(StudyConfig(hours=2, seed=6, record=False)).metrics
    for m in (a, b, c):
        m.pop("sim_wall_s")
    assert a == b
    assert a != c


@pytest.mark.parametrize("controller", ["fifo", "batch3"])
def test_baseline_controllers_are_safe(tmp_path: Path, controller: str) -> None:
    metrics, violations = execute(
        StudyConfig(hours=2, controller=controller, disruptions=frozenset(ALL)), tmp_path
    )
    assert violations == [] and metrics["conflicts"] == 0


def test_window_close_leaves_the_lane_empty(tmp_path: Path) -> None:
    # 06:00 + 17 h: the 22:00 close is inside the study
    metrics, violations = execute(StudyConfig(hours=17, seed=2, fleet=20), tmp_path)
    assert violations == []
    assert metrics["corridor_empty_at_close"] and metrics["window_violations"] == 0


def test_another_map_runs_safely(tmp_path: Path) -> None:
    metrics, violations = execute(
        StudyConfig(scenario="ganqimaodu-gashuunsukhait", hours=2, seed=4), tmp_path
    )
    assert violations == []
    assert metrics["throughput_per_h"]["total"] > 0


def test_errors_name_the_input() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "corridor_sim.cli", "sim", "run", "--scenario", "nowhere",
         "--out", "/tmp/x-never-written"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "nowhere" in proc.stderr and "tan-thanh-puzhai-2027" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "corridor_sim.cli", "sim", "run", "--disruptions", "meteor",
         "--out", "/tmp/x-never-written"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "meteor" in proc.stderr and "fog" in proc.stderr


def test_what_if_geometry_runs_on_the_changed_map(tmp_path: Path) -> None:
    """--dual makes blocks two-way (both directions may then share them: the checker reads the
    written map), --slots changes a node's holding slots; the scenario's map is untouched."""
    cfg = StudyConfig(hours=2, seed=5, dual_segments=("S4a", "S4b"), holding_slots=(("G-VN", 6),))
    metrics, violations = execute(cfg, tmp_path)
    assert violations == []
    written = (tmp_path / "map.yaml").read_text(encoding="utf-8")
    assert "single_alternating" in written  # the tunnel S2 still is
    lane_map = run_study(dataclasses.replace(cfg, record=False)).engine.lane_map
    modes = {s.segment_id: s.lane_mode.value for s in lane_map.segments}
    assert modes["S4a"] == modes["S4b"] == "two_way_dual" and modes["S2"] == "single_alternating"
    assert lane_map.node("G-VN").holding_slots == 6
    # opposite directions really shared S4a at some time (no block signal held them apart)
    rows = [r for r in run_study(cfg).engine.occupancy if r[1] == "S4a"]
    south = [r for r in rows if r[3] == "SOUTHBOUND"]
    north = [r for r in rows if r[3] == "NORTHBOUND"]
    assert any(a[4] < b[5] and b[4] < a[5] for a in south for b in north)
    assert json.loads((tmp_path / "scenario.json").read_text())["holding_slots"] == {"G-VN": 6}
    assert metrics["throughput_per_h"]["total"] > 0


def test_what_if_errors_name_the_input() -> None:
    for flag, value, named in (("--dual", "S9", "S9"), ("--slots", "G-VN", "NODE=N"),
                               ("--slots", "X1=3", "X1"), ("--slots", "G-VN=-2", "-2")):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "corridor_sim.cli", "sim", "run", flag, value,
             "--out", "/tmp/x-never-written"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 2, (flag, value, proc.stderr)
        assert named in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
