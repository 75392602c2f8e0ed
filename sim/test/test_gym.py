"""The gymnasium environment: registered on import, conformant, deterministic, vectorisable."""

import gymnasium
import numpy as np
from gymnasium.utils.env_checker import check_env

from corridor_sim.gym_env import heuristic_policy

ENV = "corridor_sim:corridor/Corridor-v0"


def test_check_env_passes() -> None:
    check_env(gymnasium.make(ENV).unwrapped, skip_render_check=True)


def _rollout(seed: int, steps: int) -> list[tuple[np.ndarray, float]]:
    env = gymnasium.make(ENV, hours=1.0, decision_s=60.0)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out.append((obs, reward))
        if terminated or truncated:
            obs, _ = env.reset()
    return out


def test_same_seed_gives_identical_rollouts_for_200_steps() -> None:
    a, b = _rollout(9, 200), _rollout(9, 200)
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b, strict=True))
    c = _rollout(10, 200)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))


def test_vector_env_and_heuristic_policy() -> None:
    envs = gymnasium.make_vec(ENV, num_envs=2, vectorization_mode="sync", hours=0.5)
    obs, _ = envs.reset(seed=1)
    total = np.zeros(2)
    for _ in range(8):
        actions = np.stack([heuristic_policy(o) for o in obs])
        obs, rewards, _, _, _ = envs.step(actions)
        total += rewards
    envs.close()
    assert obs.shape[0] == 2 and total.sum() > 0


def test_an_episode_does_not_depend_on_the_episodes_before_it() -> None:
    """The env reads the map and builds the calendar once; what an episode changes (a shortened
    window, the platoon cap) must not leak into the next one."""

    def episode(env: gymnasium.Env, seed: int) -> list[tuple[bytes, float]]:
        env.reset(seed=seed)
        out = []
        for k in range(40):
            obs, reward, *_ = env.step(np.array([k % 4, (k // 4) % 4]))
            out.append((obs.tobytes(), reward))
        return out

    kwargs = {"hours": 2.0, "decision_s": 60.0}
    used = gymnasium.make(ENV, **kwargs)
    episode(used, 3)
    episode(used, 4)
    assert episode(used, 5) == episode(gymnasium.make(ENV, **kwargs), 5)
