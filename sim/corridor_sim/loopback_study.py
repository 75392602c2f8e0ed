"""A study on the deployed controller: ``corridor sim run --driver fleet``.

The same scenario, preset, seed and hours as an engine study (:mod:`corridor_sim.study`): the
same map (with the what-ifs), the agreement's calendar, the fleet size, the same arrivals and
the same customs release times; but the decisions are the deployed
:class:`~corridor_core.fleet_controller.FleetController`'s, driven by
:class:`~corridor_sim.loopback.Loopback`. The run directory is the loop's
(:mod:`corridor_sim.loop_outputs`), checked by the independent checker.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from corridor_core.fleet import Fleet
from corridor_core.iso6346 import with_check_digit
from corridor_core.lane_map import LaneMap
from corridor_core.map_io import save_map
from corridor_core.planning.router import CONTROLLERS, Controller
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction
from corridor_sim.disruptions import DisruptionParams
from corridor_sim.loop_outputs import LoopRun, write_loop_run
from corridor_sim.loop_rows import LoopRows
from corridor_sim.loopback import Episode, Loopback, LoopbackConfig, LoopbackRun, generated_fleet
from corridor_sim.study import StudyConfig, StudyInputs, study_inputs
from corridor_sim.workload import LOOP_EPOCH, arrivals, loop_workload, preset


def loopback_config(cfg: StudyConfig, inputs: StudyInputs | None = None) -> LoopbackConfig:
    """The loopback run of study ``cfg``: the engine's arrivals (same seed stream, same run
    ids) as container runs, the engine's fleet placement and clearance model."""
    inputs = inputs or study_inputs(cfg)
    scen, lane_map = inputs.scenario, inputs.lane_map
    start_s, end_s = -scen.warm_up_s, cfg.hours * 3600.0
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 1]))
    work = arrivals(preset(cfg.preset, cfg.rate_per_h), start_s, end_s, scen.measure_from,
                    scen.time_zone, rng)  # fmt: skip
    home = lane_map.yard_of(lane_map.southbound_from)
    away = lane_map.yard_of(lane_map.far_side())
    runs = []
    for i, a in enumerate(work):
        origin, dest = (home, away) if a.direction is Direction.SOUTHBOUND else (away, home)
        box = with_check_digit(f"SIMU{(i * 2) % 1_000_000:06d}")
        run = ContainerRun(f"R{i + 1:06d}", box, origin, dest, a.direction, a.t_s, a.due_s)
        runs.append(LoopbackRun(a.t_s, run))
    controller = CONTROLLERS[cfg.controller]
    if cfg.platoon_cap is not None:
        controller = Controller(controller.name, cfg.platoon_cap)
    return LoopbackConfig(
        lane_map=lane_map,
        calendar=inputs.calendar,
        fleet=generated_fleet(lane_map, cfg.fleet or scen.fleet),
        runs=tuple(runs),
        epoch=scen.measure_from,
        start_s=start_s,
        end_s=end_s,
        seed=cfg.seed,
        controller=controller,
        gate_exceptions="ocr_misread" in cfg.disruptions,
        episodes=loopback_episodes(cfg.disruptions, DisruptionParams(), start_s, end_s, cfg.seed),
        stops=cfg.disruptions & {"breakdown", "positioning_loss"},
    )


# what the loopback plays
PLAYED = frozenset({"ocr_misread", "fog", "window_shortened", "breakdown", "positioning_loss"})


def loopback_episodes(
    disruptions: frozenset[str], prm: DisruptionParams, start_s: float, end_s: float, seed: int
) -> tuple[Episode, ...]:
    """The episodes of ``disruptions`` the loopback plays, at the engine's instants: the same
    stream (``SeedSequence(seed).spawn(8)[4]``) drawn in the engine's order, including the
    draws of the episodes it does not play, so each instant is the engine's."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(8)[4])
    span = end_s - start_s

    def when() -> float:
        return start_s + span * float(rng.uniform(0.15, 0.75))

    out = []
    if "fog" in disruptions:
        t = when()
        out.append(Episode("fog", t, t + float(rng.uniform(*prm.fog_duration_s))))
    if "token_withheld" in disruptions:
        t = when()
        rng.uniform(*prm.token_withheld_s)  # not played: the controller has no crossing token
    if "window_shortened" in disruptions:
        out.append(Episode("window_shortened", when()))
    return tuple(out)


def execute_loopback(
    cfg: StudyConfig,
    out: Path,
    progress: Callable[[float], None] | None = None,
    adjust: Callable[[LoopbackConfig], LoopbackConfig] | None = None,
) -> tuple[dict[str, Any], list[Any]]:
    """Run study ``cfg`` on the deployed controller, write and check the run directory;
    ``adjust`` may change the loopback's configuration first (tests: other rates).

    Returns the metrics and the checker's violations.
    """
    inputs = study_inputs(cfg)
    lb_cfg = loopback_config(cfg, inputs)
    if adjust is not None:
        lb_cfg = adjust(lb_cfg)
    loopback, rows, wall = _run(lb_cfg, progress)
    scen = inputs.scenario
    with tempfile.TemporaryDirectory() as tmp:
        map_path = scen.map_path
        if cfg.dual_segments or cfg.holding_slots or cfg.service_scale != 1.0:
            map_path = Path(tmp) / "map.yaml"  # the map the controller ran, for the checker
            save_map(inputs.lane_map, map_path)
        run = LoopRun(
            lane_map=inputs.lane_map,
            map_path=map_path,
            agreement_path=scen.agreement_path,
            epoch=scen.measure_from,
            end_s=lb_cfg.end_s,
            preset=cfg.preset,
            seed=cfg.seed,
            fleet=len(lb_cfg.fleet.trucks),
            southbound_share=preset(cfg.preset, cfg.rate_per_h).southbound_share,
            offered_loads=sum(1 for r in lb_cfg.runs if 0.0 <= r.at_s < lb_cfg.end_s),
            controller=f"fleet_controller ({cfg.controller}, loopback)",
            time_scale=1.0,
        )
        metrics, violations = write_loop_run(run, rows, out)
    metrics.update(_loopback_facts(loopback, wall, cfg.disruptions))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics, violations


def loop_loopback_config(
    lane_map: LaneMap, fleet: Fleet, preset_name: str, minutes: float, seed: int
) -> LoopbackConfig:
    """The loopback run of ``corridor run --preset P --minutes M --seed N`` (always open): the
    loop's workload (:func:`~corridor_sim.workload.loop_workload`), its fleet, and customs as
    its checkpoint plays it (the manifest is there when the truck reaches the gate)."""
    runs = tuple(
        LoopbackRun(load.at_s, load.run, load.declared_plate)
        for load in loop_workload(lane_map, preset_name, minutes, seed)
    )
    return LoopbackConfig(
        lane_map=lane_map,
        calendar=WindowCalendar.always_open(),
        fleet=fleet,
        runs=runs,
        epoch=LOOP_EPOCH,
        start_s=0.0,
        end_s=minutes * 60.0,
        seed=seed,
        clearance_mean_s=0.0,
        clearance_sd_s=0.0,
    )


def execute_loop_loopback(
    cfg: StudyConfig, fleet_path: Path, out: Path, progress: Callable[[float], None] | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """``corridor run``'s inputs on the loopback: the scenario's map, the fleet file, the
    loop's workload for ``cfg.preset`` / ``cfg.seed`` over ``cfg.hours``, always open; the run
    directory as ``corridor run --out`` writes it, checked. Returns metrics and violations."""
    from corridor_core.fleet import load_fleet

    inputs = study_inputs(cfg)
    fleet = load_fleet(fleet_path, inputs.lane_map)
    lb_cfg = loop_loopback_config(inputs.lane_map, fleet, cfg.preset, cfg.hours * 60.0, cfg.seed)
    loopback, rows, wall = _run(lb_cfg, progress)
    run = LoopRun(
        lane_map=inputs.lane_map,
        map_path=inputs.scenario.map_path,
        agreement_path=None,
        epoch=LOOP_EPOCH,
        end_s=lb_cfg.end_s,
        preset=cfg.preset,
        seed=cfg.seed,
        fleet=len(fleet.trucks),
        southbound_share=preset(cfg.preset).southbound_share,
        offered_loads=len(lb_cfg.runs),
        controller="fleet_controller (corridor run's workload, loopback)",
        time_scale=1.0,
    )
    metrics, violations = write_loop_run(run, rows, out)
    metrics.update(_loopback_facts(loopback, wall, frozenset({"ocr_misread"})))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics, violations


def _run(
    lb_cfg: LoopbackConfig, progress: Callable[[float], None] | None
) -> tuple[Loopback, LoopRows, float]:
    """Run ``lb_cfg`` to its end: the loopback, its rows and the wall-clock seconds taken."""
    wall = time.perf_counter()
    loopback = Loopback(lb_cfg)
    loopback.start()
    loopback.run_until(lb_cfg.end_s, progress)
    rows = loopback.finish()
    return loopback, rows, time.perf_counter() - wall


def _loopback_facts(
    loopback: Loopback, wall_s: float, disruptions: frozenset[str]
) -> dict[str, Any]:
    """What metrics.json adds for a loopback run: the driver, the controller's counters, the
    episodes played and the disruptions asked for that the loopback does not play."""
    return {
        "sim_wall_s": round(wall_s, 3),
        "driver": "fleet",
        "controller_counters": dict(sorted(loopback.core.counters.items())),
        "messages_to_controller": loopback.messages,
        "problems": loopback.problems,
        "disruptions_played": dict(sorted(loopback.episodes_played.items())),
        "disruptions_not_played": sorted(disruptions - PLAYED),
    }
