"""Evaluate a policy on corridor/Corridor-v0 over several seeds.

    python sim/examples/evaluate_policy.py [--seeds 5] [--hours 4] [--random]

Prints the crossings per episode and their mean for the heuristic baseline (or random actions).
"""

from __future__ import annotations

import argparse
import statistics

import gymnasium

from corridor_sim.gym_env import heuristic_policy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--random", action="store_true", help="random actions instead")
    args = parser.parse_args()
    env = gymnasium.make("corridor_sim:corridor/Corridor-v0", hours=args.hours)
    totals = []
    for seed in range(args.seeds):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        total, done = 0.0, False
        while not done:
            action = env.action_space.sample() if args.random else heuristic_policy(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        totals.append(total)
        print(f"seed {seed}: {total:.0f} crossings in {args.hours:g} h")
    print(f"mean {statistics.mean(totals):.1f} crossings per episode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
