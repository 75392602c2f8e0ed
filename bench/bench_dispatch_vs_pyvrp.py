"""Dispatch against PyVRP (hybrid genetic search) on 50 trucks x 500 runs with time windows.

Full-truckload runs between the reference corridor's yards, ready over 16 h, each with a 3 h
pick-up window. PyVRP gets the textbook reduction: one client per run (service = load, loaded
drive, unload; time window on the pick-up), edges = empty drives from one run's destination to
the next run's origin, trucks starting at their yards, open routes (a zero-cost end depot),
20 s of search. Ours: :func:`assign` with a 1.5 s budget. Metric: empty km with every run on
time (PyVRP's objective here); target ours <= 1.02 x PyVRP's in <= 2 s.
"""

from __future__ import annotations

import time

import numpy as np
from instances import dispatch_instance
from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
from pyvrp.stop import MaxRuntime

from corridor_core.planning.dispatch import Job, Network, Vehicle, assign, total_cost

NAME = "dispatch_vs_pyvrp"
METRIC = "empty km, 50 trucks x 500 runs"
BASELINE_NAME = "PyVRP 0.14, 20 s"
TARGET = "ours <= 1.02 x PyVRP in <= 2 s"
PYVRP_BUDGET_S = 20.0
OUR_BUDGET_S = 1.5
_last: dict[str, float] = {}


def pyvrp_empty_m(jobs: list[Job], vehicles: list[Vehicle], network: Network) -> float:
    yards = sorted({v.node for v in vehicles} | {j.origin for j in jobs})
    depots = len(yards) + 1  # the yards, then a dummy end depot every route ends at for free
    n = depots + len(jobs)

    def place(i: int) -> str:  # where a location leaves a truck
        return yards[i] if i < len(yards) else jobs[i - depots].destination

    dist = np.zeros((n, n), dtype=np.int64)
    dur = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(depots, n):
            if i == j or i == depots - 1:
                continue
            job = jobs[j - depots]
            dist[i, j] = round(network.d(place(i), job.origin))
            dur[i, j] = round(network.t(place(i), job.origin))
    big = 10**9
    dist[depots - 1, :] = big  # nothing leaves the end depot
    dur[depots - 1, :] = big
    dist[depots - 1, depots - 1] = dur[depots - 1, depots - 1] = 0
    clients = [
        Client(
            location=depots + k,
            service_duration=round(j.duration_s),
            tw_early=round(j.ready_s),
            tw_late=round(j.latest_start_s),
        )
        for k, j in enumerate(jobs)
    ]
    types = [
        VehicleType(
            num_available=sum(v.node == y for v in vehicles),
            start_depot=i,
            end_depot=depots - 1,
            tw_early=0,
            tw_late=10 * 86400,
        )
        for i, y in enumerate(yards)
        if any(v.node == y for v in vehicles)
    ]
    data = ProblemData(
        [Location(x=0, y=0) for _ in range(n)],
        clients,
        [Depot(location=i) for i in range(depots)],
        types,
        [dist],
        [dur],
    )
    result = solve(data, stop=MaxRuntime(PYVRP_BUDGET_S), seed=1, display=False)
    best = result.best
    if not best.is_feasible() or best.num_missing_clients():
        raise RuntimeError("PyVRP found no feasible schedule serving every run")
    return float(best.distance())


def measure() -> tuple[float, float]:
    jobs, vehicles, network = dispatch_instance(50, 500, seed=7)
    start = time.perf_counter()
    schedule = assign(jobs, vehicles, network, budget_s=OUR_BUDGET_S)
    _last["ours_wall_s"] = time.perf_counter() - start
    cost = total_cost(schedule, vehicles, network)
    if cost.late_runs:
        raise RuntimeError(f"our schedule is late on {cost.late_runs} runs")
    return cost.empty_m / 1000, pyvrp_empty_m(jobs, vehicles, network) / 1000


def met(ours: float, baseline: float) -> bool:
    return ours <= 1.02 * baseline and _last.get("ours_wall_s", 99) <= 2.0


if __name__ == "__main__":
    o, b = measure()
    print(f"ours {o:.1f} km in {_last['ours_wall_s']:.2f} s, PyVRP {b:.1f} km")
