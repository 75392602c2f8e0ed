"""Which truck carries which run, in which order: full-truckload dispatch with time windows.

A run is picked up at its origin yard no earlier than ``ready_s`` and no later than
``latest_start_s`` (the due time less the loaded drive and handling), and delivered at its
destination. A truck that ends a run where the next one starts (a backhaul) drives no empty
kilometres; otherwise it drives empty between yards. Objective, in order: serve every run on
time (fewest late runs, then least lateness), then the fewest empty metres, then the earliest
finish.

:func:`assign` builds a schedule greedily (earliest latest start first, each run appended to
the truck that serves it on time with the least empty driving) and improves it by moving and
swapping runs between trucks until a time budget is spent. Deterministic for given inputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    """A run as dispatch sees it. Times in seconds; ``duration_s`` from pick-up start to
    delivery done (loading, loaded drive, unloading)."""

    run_id: str
    origin: str
    destination: str
    ready_s: float
    latest_start_s: float
    duration_s: float
    distance_m: float


@dataclass(frozen=True)
class Vehicle:
    """A truck: where and when it is free."""

    truck: str
    node: str
    free_s: float


@dataclass(frozen=True)
class Network:
    """Empty-drive times and distances between yards."""

    travel_s: dict[tuple[str, str], float]
    distance_m: dict[tuple[str, str], float]

    def t(self, a: str, b: str) -> float:
        """Empty drive time from yard ``a`` to ``b``."""
        return 0.0 if a == b else self.travel_s[(a, b)]

    def d(self, a: str, b: str) -> float:
        """Empty drive distance from yard ``a`` to ``b``."""
        return 0.0 if a == b else self.distance_m[(a, b)]


@dataclass(frozen=True)
class Cost:
    """Lexicographic cost of a schedule (lower is better)."""

    late_runs: int
    lateness_s: float
    empty_m: float
    finish_s: float

    def key(self) -> tuple[int, float, float, float]:
        """Comparable tuple."""
        return (
            self.late_runs,
            round(self.lateness_s, 6),
            round(self.empty_m, 6),
            round(self.finish_s, 6),
        )


@dataclass
class Schedule:
    """Run sequences per truck."""

    sequences: dict[str, list[Job]] = field(default_factory=dict)

    def starts(self, vehicle: Vehicle, network: Network) -> list[float]:
        """Pick-up start of each run of the truck, in order."""
        out = []
        node, t = vehicle.node, vehicle.free_s
        for job in self.sequences[vehicle.truck]:
            start = max(t + network.t(node, job.origin), job.ready_s)
            out.append(start)
            node, t = job.destination, start + job.duration_s
        return out


def route_cost(vehicle: Vehicle, jobs: list[Job], network: Network) -> Cost:
    """Cost of one truck doing ``jobs`` in order."""
    node, t = vehicle.node, vehicle.free_s
    late = 0
    lateness = empty = 0.0
    for job in jobs:
        empty += network.d(node, job.origin)
        start = max(t + network.t(node, job.origin), job.ready_s)
        if start > job.latest_start_s + 1e-6:
            late += 1
            lateness += start - job.latest_start_s
        node, t = job.destination, start + job.duration_s
    return Cost(late, lateness, empty, t)


def total_cost(schedule: Schedule, vehicles: list[Vehicle], network: Network) -> Cost:
    """Cost of the whole schedule (finish = the latest truck's)."""
    parts = [route_cost(v, schedule.sequences[v.truck], network) for v in vehicles]
    return Cost(
        sum(p.late_runs for p in parts),
        sum(p.lateness_s for p in parts),
        sum(p.empty_m for p in parts),
        max((p.finish_s for p in parts), default=0.0),
    )


def _add(a: Cost, b: Cost) -> tuple[int, float, float, float]:
    return (
        a.late_runs + b.late_runs,
        a.lateness_s + b.lateness_s,
        a.empty_m + b.empty_m,
        a.finish_s + b.finish_s,
    )


def greedy(jobs: list[Job], vehicles: list[Vehicle], network: Network) -> Schedule:
    """Earliest latest start first; each job appended where it adds the least cost."""
    schedule = Schedule({v.truck: [] for v in vehicles})
    state = {v.truck: (v.node, v.free_s) for v in vehicles}
    for job in sorted(jobs, key=lambda j: (j.latest_start_s, j.ready_s, j.run_id)):
        best = None
        for v in vehicles:
            node, t = state[v.truck]
            start = max(t + network.t(node, job.origin), job.ready_s)
            late = max(0.0, start - job.latest_start_s)
            key = (late > 1e-6, late, network.d(node, job.origin), start, v.truck)
            if best is None or key < best[0]:
                best = (key, v.truck, start)
        assert best is not None
        _, truck, start = best
        schedule.sequences[truck].append(job)
        state[truck] = (job.destination, start + job.duration_s)
    return schedule


def improve(
    schedule: Schedule, vehicles: list[Vehicle], network: Network, budget_s: float
) -> Schedule:
    """Relocate and swap jobs between and within trucks while it helps, within ``budget_s``."""
    deadline = time.perf_counter() + budget_s
    by_truck = {v.truck: v for v in vehicles}
    costs = {t: route_cost(by_truck[t], seq, network) for t, seq in schedule.sequences.items()}
    trucks = sorted(schedule.sequences)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for a in trucks:
            for b in trucks:
                if time.perf_counter() > deadline:
                    return schedule
                seq_a, seq_b = schedule.sequences[a], schedule.sequences[b]
                for i in range(len(seq_a)):
                    job = seq_a[i]
                    rest_a = seq_a[:i] + seq_a[i + 1 :]
                    base = (
                        _add(costs[a], costs[b])
                        if a != b
                        else (
                            costs[a].late_runs,
                            costs[a].lateness_s,
                            costs[a].empty_m,
                            costs[a].finish_s,
                        )
                    )
                    target = rest_a if a == b else seq_b
                    for k in _positions(target, job):
                        new_b = [*target[:k], job, *target[k:]]
                        if a == b:
                            ca = route_cost(by_truck[a], new_b, network)
                            cand = (ca.late_runs, ca.lateness_s, ca.empty_m, ca.finish_s)
                        else:
                            ca = route_cost(by_truck[a], rest_a, network)
                            cb = route_cost(by_truck[b], new_b, network)
                            cand = _add(ca, cb)
                        if _better(cand, base):
                            if a == b:
                                schedule.sequences[a] = new_b
                                costs[a] = ca
                            else:
                                schedule.sequences[a], schedule.sequences[b] = rest_a, new_b
                                costs[a], costs[b] = ca, cb
                            improved = True
                            break
                    if improved:
                        break
                if improved:
                    break
            if improved:
                break
    return schedule


def _positions(seq: list[Job], job: Job) -> list[int]:
    """Insertion points worth trying: around jobs with compatible time windows."""
    return [
        k
        for k in range(len(seq) + 1)
        if (k == 0 or seq[k - 1].ready_s <= job.latest_start_s)
        and (k == len(seq) or job.ready_s <= seq[k].latest_start_s)
    ]


def _better(a: tuple[int, float, float, float], b: tuple[int, float, float, float]) -> bool:
    return (a[0], round(a[1], 6), round(a[2], 6)) < (b[0], round(b[1], 6), round(b[2], 6))


def assign(
    jobs: list[Job], vehicles: list[Vehicle], network: Network, budget_s: float = 1.5
) -> Schedule:
    """A schedule for every job: greedy, then improvement within ``budget_s``."""
    return improve(greedy(jobs, vehicles, network), vehicles, network, budget_s)
