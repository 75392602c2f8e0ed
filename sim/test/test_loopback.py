"""The simulator drives the deployed controller (``corridor sim run --driver fleet``).

Each run goes through the real :class:`FleetController` and emulated VDA 5050 trucks, messages as
JSON both ways, and its rows are judged by the independent checker: no conflict on a single-lane
segment, no crossing outside a window or before clearance, the lane empty at close. Seeds are
fresh on every run and printed, so a failure can be replayed.
"""

import ast
import dataclasses
import random
from pathlib import Path

import pytest

from corridor_core.fleet_controller import FleetController
from corridor_core.runs import Direction, RunState
from corridor_sim.disruptions import DisruptionParams
from corridor_sim.loopback import Episode, Loopback, LoopbackRun
from corridor_sim.loopback_study import execute_loopback, loopback_config
from corridor_sim.study import StudyConfig

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def fresh_seed() -> int:
    seed = random.SystemRandom().randrange(1, 1_000_000)
    print(f"seed {seed}")
    return seed


def assert_clean(metrics: dict[str, object], violations: list[object]) -> None:
    assert violations == [], violations[:5]
    assert metrics["conflicts"] == 0
    assert metrics["window_violations"] == 0
    assert metrics["problems"] == 0  # no message refused on either side
    vda = metrics["vda5050"]
    assert isinstance(vda, dict) and vda["unordered_moves"] == 0 and vda["stale_states"] == 0


def test_the_loopback_runs_the_class_the_vehicle_bridge_runs() -> None:
    node = ROOT / "src/corridor_nodes/corridor_nodes/vehicle_bridge_node.py"
    tree = ast.parse(node.read_text(encoding="utf-8"))
    built = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    imported = {
        (n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
    }
    assert "FleetController" in built
    assert ("corridor_core.fleet_controller", "FleetController") in imported
    lb = Loopback(loopback_config(StudyConfig(hours=0.1, seed=1)))
    assert type(lb.core) is FleetController


def test_reference_stress_is_checker_clean_and_delivers(tmp_path: Path) -> None:
    cfg = StudyConfig(hours=1.0, seed=fresh_seed(), preset="stress")
    metrics, violations = execute_loopback(cfg, tmp_path)
    assert_clean(metrics, violations)
    assert metrics["corridor_empty_at_close"] in (True, None)
    assert metrics["loaded_trips"] >= 20  # it flows: about 40/h measured
    assert metrics["throughput_per_h"]["total"] <= metrics["bound_per_h"]
    for name in ("occupancy.csv", "crossings.csv", "metrics.json", "map.yaml", "agreement.yaml"):
        assert (tmp_path / name).exists()


@pytest.mark.parametrize(
    "scenario", ["tight-pockets-scenario.yaml", "chain-of-blocks-scenario.yaml"]
)
def test_other_corridors_are_checker_clean(tmp_path: Path, scenario: str) -> None:
    cfg = StudyConfig(scenario=str(DATA / scenario), hours=1.0, seed=fresh_seed())
    metrics, violations = execute_loopback(cfg, tmp_path)
    assert_clean(metrics, violations)
    assert metrics["loaded_trips"] > 0


def _night(tmp_path: Path) -> Path:
    """The night pilot: southbound only, 18:30-20:00, last entry 19:45; a run from 18:30 for
    1.5 h ends at 20:15, so the close falls inside it."""
    scenario = tmp_path / "night.yaml"
    scenario.write_text(
        "name: night\n"
        f"map: {ROOT / 'maps/tan-thanh-puzhai-2027.yaml'}\n"
        f"agreement: {ROOT / 'config/agreements/pilot-2025-night.yaml'}\n"
        "time_zone: Asia/Ho_Chi_Minh\n"
        'date: "2025-11-12"\n'
        'measure_from: "18:45"\n'
        "warm_up_min: 15\n"
        "fleet: 12\n",
        encoding="utf-8",
    )
    return scenario


def test_a_window_that_closes_mid_run_no_crossing_after_last_entry(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = StudyConfig(scenario=str(_night(tmp_path)), hours=1.5, seed=fresh_seed(),
                      preset="nominal")  # fmt: skip
    metrics, violations = execute_loopback(cfg, out)
    assert_clean(metrics, violations)  # the checker judges windows, last entry and close
    assert metrics["corridor_empty_at_close"] is True
    assert metrics["throughput_per_h"]["NORTHBOUND"] == 0.0  # no northbound window at all
    assert metrics["loaded_trips"] > 0
    last_entry_s = 60 * 60.0  # 19:45 is 60 minutes after 18:45
    rows = (out / "crossings.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert rows and all(float(r.split(",")[4]) <= last_entry_s for r in rows)


def test_runs_customs_holds_never_cross() -> None:
    """Every fifth run's manifest names another plate: customs holds it at the gate."""
    cfg = loopback_config(StudyConfig(hours=0.75, seed=fresh_seed(), preset="stress"))
    runs = tuple(
        LoopbackRun(r.at_s, r.run, declared_plate="桂F·X0000" if i % 5 == 0 else "")
        for i, r in enumerate(cfg.runs)
    )
    held = {r.run.run_id: r.run.container_number for r in runs if r.declared_plate}
    lb = Loopback(type(cfg)(**{**cfg.__dict__, "runs": runs}))
    lb.start()
    lb.run_until(cfg.end_s)
    rows = lb.finish()
    states = {run_id: lb.core.run(run_id) for run_id in held}
    assert any(v is not None and v.state is RunState.HELD for v in states.values()), states
    assert not {c[0] for c in rows.crossings} & set(held.values())
    assert len(rows.crossings) > 0  # the others cross


def test_a_window_shortened_in_fog_is_kept_by_the_deployed_controller(tmp_path: Path) -> None:
    """Fog caps the trucks' speed (the controller is not told; it sees their pace), and the
    evening's two-way window (last entry 21:45, close 22:00) is cut short at 30 minutes' notice
    (the controller gets the new calendar). Judged on the shortened window, which the checker
    (on the signed agreement) does not know: no km 0 after its last entry, no truck on the lane
    at its close."""
    scenario = tmp_path / "evening.yaml"
    scenario.write_text(
        "name: evening\n"
        f"map: {ROOT / 'maps/tan-thanh-puzhai-2027.yaml'}\n"
        f"agreement: {ROOT / 'config/agreements/two-way-2027.yaml'}\n"
        "time_zone: Asia/Ho_Chi_Minh\n"
        'date: "2027-03-02"\n'
        'measure_from: "20:45"\n'
        "warm_up_min: 15\n"
        "fleet: 12\n",
        encoding="utf-8",
    )
    kinds = frozenset({"fog", "window_shortened", "ocr_misread"})
    cfg = loopback_config(StudyConfig(scenario=str(scenario), hours=1.5, seed=fresh_seed(),
                                      preset="stress", disruptions=kinds))  # fmt: skip
    assert {e.kind for e in cfg.episodes} == {"fog", "window_shortened"}
    # The engine's instants may put the cut where no window is in force 30 minutes on, and
    # fog may begin after a platoon was sent toward km 0 on clear-weather times (it then
    # arrives late: a gap stated in docs/one-controller.md). Here the fog lies over the whole
    # run, so the controller has seen the trucks' pace, and the cut comes at a random instant
    # of 20:45-21:10, so the close moves while trucks are out.
    cut_s = random.SystemRandom().uniform(0.0, 1500.0)
    print(f"window cut at {cut_s:.0f} s")
    episodes = (Episode("fog", cfg.start_s, cfg.end_s), Episode("window_shortened", cut_s))
    cfg = dataclasses.replace(cfg, episodes=episodes)
    lb = Loopback(cfg)
    lb.start()
    lb.run_until(cfg.end_s)
    rows = lb.finish()
    assert lb.episodes_played == {"fog": 1, "window_shortened": 1}
    span = lb.calendar.interval_at(Direction.SOUTHBOUND, cut_s + 1800.0)
    signed = cfg.calendar.interval_at(Direction.SOUTHBOUND, cut_s + 1800.0)
    assert span is not None and signed is not None and span.close_s < signed.close_s
    late = [(c[0], c[-1]) for c in rows.crossings if c[-1] > span.last_entry_s + 1e-6]
    assert late == [], f"km 0 after the shortened last entry {span.last_entry_s:.0f} s"
    off_lane = {n.node_id for n in cfg.lane_map.nodes if n.kind.value in ("yard", "parking")}
    on_lane_at_close = [
        r for r in rows.occupancy
        if r[2] != "station" and r[1] not in off_lane and r[4] < span.close_s < r[5]
    ]  # fmt: skip
    assert on_lane_at_close == []
    assert rows.crossings, "some trucks cross before the cut"


def test_trucks_that_stop_on_the_lane_keep_it_safe(tmp_path: Path) -> None:
    """Breakdowns and positioning losses at rates far above the reference (a stop every two
    hours of driving, a positioning loss every hour): trucks stop where they are, without an
    error, and drive on later. The controller is not told; the checker finds nothing."""
    rates = DisruptionParams(mtbf_driving_h=2.0, positioning_loss_per_driving_h=1.0)
    cfg = StudyConfig(hours=1.0, seed=fresh_seed(), preset="stress")
    metrics, violations = execute_loopback(
        cfg, tmp_path, adjust=lambda c: dataclasses.replace(c, disruption_params=rates)
    )
    assert_clean(metrics, violations)
    played = metrics["disruptions_played"]
    assert (
        isinstance(played, dict)
        and played.get("breakdown", 0) + played.get("positioning_loss", 0) >= 3
    ), played
    assert metrics["loaded_trips"] >= 10  # the stopped trucks drive on
