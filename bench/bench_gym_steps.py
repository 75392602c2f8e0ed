"""gymnasium throughput: steps per second of 8 synchronous vector envs of corridor/Corridor-v0
(decision every 60 simulated seconds, random actions) against 8 CartPole-v1 envs in the same
vector wrapper (the wrapper's own cost). Metric: env steps per second (8 per vector step).
Details: the same 8 envs in gymnasium's async (one process each) vector env, which spreads them
over the machine's cores."""

from __future__ import annotations

import time

import gymnasium
import numpy as np

NAME = "gym_steps"
METRIC = "env steps/s, 8 vector envs"
BASELINE_NAME = "CartPole-v1, same vector wrapper"
TARGET = ">= 5000 steps/s"
VECTOR_STEPS = 150
_details: dict[str, object] = {}


def _rate(env_id: str, mode: str = "sync", **kwargs: object) -> float:
    envs = gymnasium.make_vec(env_id, num_envs=8, vectorization_mode=mode, **kwargs)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    t = time.perf_counter()
    for _ in range(VECTOR_STEPS):
        envs.step(envs.action_space.sample())
    rate = 8 * VECTOR_STEPS / (time.perf_counter() - t)
    envs.close()
    return rate


def measure() -> tuple[float, float]:
    ours = _rate("corridor_sim:corridor/Corridor-v0", hours=4.0, decision_s=60.0)
    base = _rate("CartPole-v1")
    spread = _rate("corridor_sim:corridor/Corridor-v0", "async", hours=4.0, decision_s=60.0)
    _details["async_steps_per_s"] = round(spread, 1)
    _details["sync_simulated_h_per_wall_s"] = round(ours * 60.0 / 3600.0, 2)
    return ours, base


def details() -> dict[str, object]:
    return dict(_details)


def met(ours: float, baseline: float) -> bool:
    return bool(np.isfinite(ours)) and ours >= 5000.0
