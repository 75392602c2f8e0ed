"""One simulation study: resolve the scenario, run the engine, measure, write the run directory.

The directory format is in ``docs/sim-outputs.md``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corridor_core.agreement import load_agreement
from corridor_core.distributions import Distribution
from corridor_core.errors import ConfigError
from corridor_core.lane_map import LaneMap, LaneMode
from corridor_core.map_io import load_map, save_map
from corridor_core.planning.windows import WindowCalendar, agreement_calendar
from corridor_sim.disruptions import DEFAULT, DisruptionParams
from corridor_sim.engine import CorridorEngine, EngineConfig
from corridor_sim.scenario import Scenario, load_scenario
from corridor_sim.workload import arrivals, preset


@dataclass(frozen=True)
class StudyConfig:
    """What ``corridor sim run`` asks for."""

    scenario: str = "tan-thanh-puzhai-2027"
    preset: str = "stress"
    hours: float = 16.0
    seed: int = 7
    controller: str = "corridor"
    fleet: int | None = None  # None: the scenario's
    disruptions: frozenset[str] = frozenset(DEFAULT)
    rate_per_h: float | None = None  # offered loads per hour; None: the preset's
    service_scale: float = 1.0  # multiplies every station service time
    platoon_cap: int | None = None  # None: the controller's own
    record: bool = True
    # what-if geometry on top of the scenario's map (see what_if_map)
    dual_segments: tuple[str, ...] = ()
    holding_slots: tuple[tuple[str, int], ...] = ()


def scaled(d: Distribution, k: float) -> Distribution:
    """A distribution with every time parameter multiplied by ``k``."""
    if k == 1.0:
        return d
    return dataclasses.replace(
        d,
        mean=d.mean * k, sd=d.sd * k, low=d.low * k, mode=d.mode * k, high=d.high * k,
        value=d.value * k,
        clip_min=None if d.clip_min is None else d.clip_min * k,
        clip_max=None if d.clip_max is None else d.clip_max * k,
    )  # fmt: skip


def scale_services(lane_map: LaneMap, k: float) -> LaneMap:
    """The map with every station's service time (and set-up) scaled by ``k``."""
    if k == 1.0:
        return lane_map
    stations = tuple(
        dataclasses.replace(st, service_time_s=scaled(st.service_time_s, k), setup_s=st.setup_s * k)
        for st in lane_map.stations
    )
    return dataclasses.replace(lane_map, stations=stations)


def what_if_map(
    lane_map: LaneMap,
    dual_segments: tuple[str, ...] = (),
    holding_slots: tuple[tuple[str, int], ...] = (),
) -> LaneMap:
    """The map with the named segments made two-way dual (one lane each way: no block signal
    there) and the named nodes given these holding slots; the map itself when both are empty.

    Raises:
        ConfigError: an id the map does not have, or a negative slot count.
    """
    if not dual_segments and not holding_slots:
        return lane_map
    seg_ids = {s.segment_id for s in lane_map.segments}
    node_ids = {n.node_id for n in lane_map.nodes}
    for seg in dual_segments:
        if seg not in seg_ids:
            raise ConfigError("--dual", seg, f"is no segment of {lane_map.name}; "
                              f"known: {', '.join(sorted(seg_ids))}")  # fmt: skip
    slots = dict(holding_slots)
    for node, n in slots.items():
        if node not in node_ids:
            raise ConfigError("--slots", node, f"is no node of {lane_map.name}; "
                              f"known: {', '.join(sorted(node_ids))}")  # fmt: skip
        if n < 0:
            raise ConfigError("--slots", node, f"holding slots must be >= 0 (got {n})")
    segments = tuple(
        dataclasses.replace(
            s,
            lane_mode=LaneMode.TWO_WAY_DUAL,
            lanes_per_direction=1,
            all_clear_s=0.0,
            block_boundaries_m=(),
        )
        if s.segment_id in dual_segments
        else s
        for s in lane_map.segments
    )
    nodes = tuple(
        dataclasses.replace(n, holding_slots=slots[n.node_id]) if n.node_id in slots else n
        for n in lane_map.nodes
    )
    return dataclasses.replace(lane_map, segments=segments, nodes=nodes)


@dataclass
class StudyResult:
    """The engine after the run, and what was measured."""

    engine: CorridorEngine
    metrics: dict[str, Any]
    epoch: dt.datetime
    map_path: Path
    agreement_path: Path | None


@dataclass(frozen=True)
class StudyInputs:
    """What a study reads and builds before any random draw: the same for every seed, so
    repeated studies (a gym env's episodes) can build it once."""

    scenario: Scenario
    lane_map: LaneMap
    calendar: WindowCalendar


def study_inputs(cfg: StudyConfig, scen: Scenario | None = None) -> StudyInputs:
    """Resolve the scenario (unless given), load and adjust the map, build the calendar."""
    scen = scen or load_scenario(cfg.scenario)
    lane_map = scale_services(load_map(scen.map_path), cfg.service_scale)
    lane_map = what_if_map(lane_map, cfg.dual_segments, cfg.holding_slots)
    if scen.agreement_path is not None:
        agreement = load_agreement(scen.agreement_path)
        days = 1 + math.ceil(cfg.hours / 24)
        calendar = agreement_calendar(agreement, scen.measure_from, 0.0, 86400.0 * days)
    else:
        calendar = WindowCalendar.always_open()
    return StudyInputs(scen, lane_map, calendar)


def build_engine(
    cfg: StudyConfig, scen: Scenario | None = None, inputs: StudyInputs | None = None
) -> CorridorEngine:
    """The engine for a study, not started: ``inputs`` (built from ``cfg`` and ``scen`` unless
    given; they must come from a config that differs from ``cfg`` in the seed alone), and
    the arrivals drawn."""
    inputs = inputs or study_inputs(cfg, scen)
    scen, lane_map, calendar = inputs.scenario, inputs.lane_map, inputs.calendar
    epoch = scen.measure_from
    start_s, end_s = -scen.warm_up_s, cfg.hours * 3600.0
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 1]))
    work = arrivals(preset(cfg.preset, cfg.rate_per_h), start_s, end_s, epoch, scen.time_zone, rng)
    return CorridorEngine(
        EngineConfig(
            lane_map=lane_map, calendar=calendar, controller=cfg.controller,
            fleet=cfg.fleet or scen.fleet, start_s=start_s, end_s=end_s, arrivals=tuple(work),
            disruptions=cfg.disruptions, params=DisruptionParams(), seed=cfg.seed,
            record=cfg.record, platoon_cap=cfg.platoon_cap,
        )
    )  # fmt: skip


def run_study(cfg: StudyConfig, progress: Callable[[float], None] | None = None) -> StudyResult:
    """Simulate the study. ``progress(fraction)`` is called as sim time advances."""
    from corridor_sim.metrics import measure

    scen = load_scenario(cfg.scenario)
    engine = build_engine(cfg, scen)
    start_s, end_s = engine.cfg.start_s, engine.cfg.end_s
    wall = time.perf_counter()
    engine.start()
    steps = 50
    for k in range(1, steps + 1):
        engine.events.run_until(start_s + (end_s - start_s) * k / steps)
        if progress:
            progress(k / steps)
    engine.finish()
    wall = time.perf_counter() - wall
    share = preset(cfg.preset, cfg.rate_per_h).southbound_share
    metrics = measure(engine, engine.calendar, engine.lane_map, share, engine.cfg.fleet)
    metrics["sim_wall_s"] = round(wall, 3)
    metrics["events"] = engine.events.processed
    return StudyResult(engine, metrics, scen.measure_from, scen.map_path, scen.agreement_path)


def write_run(result: StudyResult, cfg: StudyConfig, out: Path) -> None:
    """Write the run directory (``docs/sim-outputs.md``); the report is written separately."""
    out.mkdir(parents=True, exist_ok=True)
    eng = result.engine
    if cfg.dual_segments or cfg.holding_slots:  # the map the engine ran, for the checker
        save_map(eng.lane_map, out / "map.yaml")
    else:
        shutil.copyfile(result.map_path, out / "map.yaml")
    if result.agreement_path is not None:
        shutil.copyfile(result.agreement_path, out / "agreement.yaml")
    scenario = {
        "scenario": cfg.scenario,
        "map_file": "map.yaml",
        "agreement_file": "agreement.yaml" if result.agreement_path else None,
        "epoch": result.epoch.isoformat(),
        "start_s": eng.cfg.start_s,
        "end_s": eng.cfg.end_s,
        "preset": cfg.preset,
        "controller": cfg.controller,
        "seed": cfg.seed,
        "fleet": eng.cfg.fleet,
        "disruptions": sorted(cfg.disruptions),
        "service_scale": cfg.service_scale,
        "rate_per_h": cfg.rate_per_h,
        "platoon_cap": cfg.platoon_cap,
        "dual_segments": list(cfg.dual_segments),
        "holding_slots": dict(cfg.holding_slots),
    }
    (out / "scenario.json").write_text(json.dumps(scenario, indent=2) + "\n", encoding="utf-8")
    write_rows(eng, out)


def write_rows(eng: CorridorEngine, out: Path) -> None:
    """Write the engine's ``occupancy.csv``, ``crossings.csv`` and ``queues.csv`` to ``out``."""
    with open(out / "occupancy.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["vehicle_id", "resource_id", "resource_kind", "direction", "enter_s", "exit_s"])
        for row in sorted(eng.occupancy, key=lambda r: (r[4], r[0], r[1])):
            w.writerow([*row[:4], f"{row[4]:.3f}", f"{row[5]:.3f}"])
    with open(out / "crossings.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["container_id", "vehicle_id", "direction", "clearance_s", "border_s"])
        for info in sorted(eng.runs.values(), key=lambda i: (i.border_s, i.run.run_id)):
            if math.isnan(info.border_s):
                continue
            for box in info.boxes:
                w.writerow([box, info.truck, info.run.direction.value,
                            f"{info.cleared_s:.3f}", f"{info.border_s:.3f}"])  # fmt: skip
    with open(out / "queues.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["time_s", "station_id", "queue_len"])
        for t, sid, n in eng.queue_samples:
            w.writerow([f"{t:.0f}", sid, n])


def execute(
    cfg: StudyConfig, out: Path, progress: Callable[[float], None] | None = None
) -> tuple[dict[str, Any], list[Any]]:
    """Run, write the directory, check it independently, write metrics.json and the report.

    Returns the metrics and the checker's violations.
    """
    from corridor_sim.metrics import add_check
    from corridor_sim.report import write_report

    result = run_study(cfg, progress)
    write_run(result, cfg, out)
    violations = add_check(result.metrics, out)
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n", encoding="utf-8")
    write_report(out)
    return result.metrics, violations
