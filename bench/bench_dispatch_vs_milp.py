"""Dispatch against the proven optimum of small instances (scipy milp, HiGHS).

The MILP is a multi-vehicle asymmetric TSP with time windows over runs: binary x[p, j] when run
j follows p (a run or a truck's start) on the same truck, pick-up times with big-M precedence,
every run served inside its window, minimising empty metres. Ours is :func:`assign` with the
same data. Metric: our empty metres over the optimum's (1.00 = optimal); target gap <= 1 %.
"""

from __future__ import annotations

import statistics

import numpy as np
from instances import dispatch_instance
from scipy.optimize import Bounds, LinearConstraint, milp

from corridor_core.planning.dispatch import Job, Network, Vehicle, assign, total_cost

NAME = "dispatch_vs_milp"
METRIC = "empty km, mean of 8 instances"
BASELINE_NAME = "scipy milp optimum (HiGHS)"
TARGET = "ours <= 1.01 x optimum"
SEEDS = range(8)


def optimum_empty_m(jobs: list[Job], vehicles: list[Vehicle], network: Network) -> float:
    """The proven minimum of empty metres with every run on time."""
    n, m = len(jobs), len(vehicles)
    preds = m + n  # predecessors: truck starts, then runs
    nx = preds * n
    big = 10 * 24 * 3600.0
    cost = np.zeros(nx + n)
    rows, lo, hi = [], [], []

    def var(p: int, j: int) -> int:
        return p * n + j

    def origin_of(p: int) -> tuple[str, float]:
        return (
            (vehicles[p].node, 0.0) if p < m else (jobs[p - m].destination, jobs[p - m].duration_s)
        )

    for p in range(preds):
        for j in range(n):
            node, _ = origin_of(p)
            cost[var(p, j)] = network.d(node, jobs[j].origin)
    for j in range(n):  # exactly one predecessor
        row = np.zeros(nx + n)
        for p in range(preds):
            if p != m + j:
                row[var(p, j)] = 1
        rows.append(row), lo.append(1), hi.append(1)
    for p in range(preds):  # at most one successor
        row = np.zeros(nx + n)
        for j in range(n):
            row[var(p, j)] = 1
        rows.append(row), lo.append(0), hi.append(1)
    for p in range(preds):  # timing: s_j >= s_p + dur_p + travel - M (1 - x)
        for j in range(n):
            if p == m + j:
                continue
            node, dur = origin_of(p)
            travel = network.t(node, jobs[j].origin)
            row = np.zeros(nx + n)
            row[nx + j] = 1
            row[var(p, j)] = -big
            if p < m:
                rows.append(row), lo.append(vehicles[p].free_s + travel - big), hi.append(np.inf)
            else:
                row[nx + p - m] = -1
                rows.append(row), lo.append(dur + travel - big), hi.append(np.inf)
    for j in range(n):  # no self loops
        row = np.zeros(nx + n)
        row[var(m + j, j)] = 1
        rows.append(row), lo.append(0), hi.append(0)
    lb = np.concatenate([np.zeros(nx), [j.ready_s for j in jobs]])
    ub = np.concatenate([np.ones(nx), [j.latest_start_s for j in jobs]])
    integrality = np.concatenate([np.ones(nx), np.zeros(n)])
    res = milp(
        cost,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(lb, ub),
        options={"time_limit": 60},
    )
    if res.status != 0:
        raise RuntimeError(f"milp did not prove an optimum: {res.message}")
    return float(res.fun)


def measure() -> tuple[float, float]:
    ours, best = [], []
    for seed in SEEDS:
        jobs, vehicles, network = dispatch_instance(
            3, 9, seed, horizon_s=6 * 3600, window_s=2 * 3600
        )
        schedule = assign(jobs, vehicles, network, budget_s=0.5)
        cost = total_cost(schedule, vehicles, network)
        assert cost.late_runs == 0, "instance must be feasible for the comparison"
        ours.append(cost.empty_m / 1000)
        best.append(optimum_empty_m(jobs, vehicles, network) / 1000)
    return statistics.mean(ours), statistics.mean(best)


def met(ours: float, baseline: float) -> bool:
    return ours <= 1.01 * baseline + 1e-9
