"""Simulator speed: a 24 h day of the reference scenario with 40 trucks (stress preset, default
disruptions, the core planner in the loop, no files written) against a SimPy model of the same
corridor (bench/simpy_corridor.py: FIFO block signalling, no planner) in the same run.
Metric: wall seconds per simulated day."""

from __future__ import annotations

import time

from instances import REFERENCE
from simpy_corridor import run_simpy_day

from corridor_sim.study import StudyConfig, run_study

NAME = "sim_speed"
METRIC = "wall s per 24 h day, 40 trucks"
BASELINE_NAME = "SimPy model, same corridor"
TARGET = "<= 5 s wall"
_details: dict[str, object] = {}


def measure() -> tuple[float, float]:
    t = time.perf_counter()
    result = run_study(StudyConfig(hours=24.0, seed=1, fleet=40, record=False))
    ours = time.perf_counter() - t
    t = time.perf_counter()
    simpy = run_simpy_day(REFERENCE, trucks=40, hours=24.0, seed=1)
    base = time.perf_counter() - t
    _details.update(loaded_trips_ours=result.metrics["loaded_trips"],
                    events_ours=result.metrics["events"],
                    loaded_trips_simpy=simpy["loaded_trips"])  # fmt: skip
    return ours, base


def met(ours: float, baseline: float) -> bool:
    return ours <= 5.0


def details() -> dict[str, object]:
    return dict(_details)
