"""Lane planning against pymapf (pure-Python MAPF: prioritized, LNS, LaCAM) on corridors.

Instances: trucks split between the two yards swap sides through single-lane sections joined
by passing bays, for 2 to 64 trucks, on (a) the reference corridor's single-lane core (a 15-cell
tunnel between 6-slot pockets, then two 6-cell blocks around a 3-slot bay) and (b) a generated
family of long single-lane sections with few bays. Both planners see the same discrete world:
a cell is 10 m driven in 1 s, trucks follow one cell apart, a bay of s slots is a passing loop
of s cells, a yard is a star of cells around the line's end. MAPF agents may also wait on the
line itself; ours wait only in bays and yards.

Metric: our wall time to plan the whole instance set; baseline: LaCAM's on the same set (time
limit 5 s per instance; a failure counts its full time). Also reported: instances solved
within 1 s by us, and makespan against pymapf's best successful solver (prioritized, LNS,
LaCAM) per instance. MAPF solutions may put two opposite
trucks in one single-lane block, which our safety rule forbids, so their makespans can be
shorter than any safe plan's.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from pymapf import Agent, ExplicitGraph, MAPFProblem, get_solver

from corridor_core.map_io import parse_map
from corridor_core.planning.batch import TripRequest, plan_batch
from corridor_core.planning.reservations import ReservationTable
from corridor_core.planning.router import CORRIDOR, Router
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction

NAME = "lane_vs_pymapf"
METRIC = "planning wall s, all instances"
BASELINE_NAME = "pymapf LaCAM (5 s limit)"
TARGET = "100 % solved < 1 s, makespan <= pymapf best, >= 10x faster than LaCAM"
CELL_M = 10.0
REFERENCE_CORE = [("single", 15), ("bay", 6), ("single", 6), ("bay", 3), ("single", 6)]
FAMILY = [
    [("single", 30), ("bay", 2), ("single", 30)],
    [("single", 20), ("bay", 3), ("single", 40), ("bay", 3), ("single", 20)],
    [("single", 50), ("bay", 4), ("single", 50)],
]
SIZES = (2, 4, 8, 16, 32, 64)
LACAM_LIMIT_S = 5.0
LNS_MAX_TRUCKS = 8  # LNS spends its whole budget; run it where it can still improve
_report: dict[str, Any] = {}


@dataclass
class Outcome:
    instance: str
    trucks: int
    ours_s: float
    ours_makespan: float
    mapf_best: float | None
    mapf_solver: str
    lacam_s: float
    lacam_ok: bool


def lane_map_of(sections: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    """The lane map of a corridor: yard, single-lane sections between bays, yard. Lengths match
    the MAPF graph's steps (a bay adds its main-line cells to the section after it)."""
    nodes = [{"id": "ZA", "kind": "yard", "jurisdiction": "CN", "x_m": 0.0, "y_m": 0.0}]
    segments = []
    prev, cells, x = "ZA", 1, 0.0  # one cell from the yard onto the line
    for i, (kind, n) in enumerate(sections):
        if kind == "single":
            cells += n
            continue
        x += cells * CELL_M
        nodes.append(
            {
                "id": f"B{i}",
                "kind": "passing_bay",
                "jurisdiction": "CN",
                "x_m": x,
                "y_m": 0.0,
                "holding_slots": n,
            }
        )
        segments.append(_single(f"L{i}", prev, f"B{i}", cells))
        prev, cells = f"B{i}", max(n - 1, 1)
    cells += 1  # one cell off the line into the far yard
    nodes.append(
        {"id": "ZB", "kind": "yard", "jurisdiction": "VN", "x_m": x + cells * CELL_M, "y_m": 0.0}
    )
    segments.append(_single("LZ", prev, "ZB", cells))
    vehicle = {
        "id": "v",
        "length_m": 8.0,
        "max_speed_kph": 40.0,
        "accel_loaded_mps2": 1.0,
        "accel_empty_mps2": 1.0,
        "braking_mps2": 1.0,
        "emergency_braking_mps2": 3.0,
        "battery_range_km": 100.0,
        "swap_every_round_trips": 10,
        "swap_time_s": 0.0,
    }
    doc = {
        "name": "lane",
        "following_rule": {"standstill_gap_m": 2.0, "time_gap_s": 0.0},
        "vehicle_classes": [vehicle],
        "nodes": nodes,
        "segments": segments,
    }
    return parse_map(doc, "bench")


def _single(seg_id: str, a: str, b: str, cells: int) -> dict[str, Any]:
    return {
        "id": seg_id,
        "from": a,
        "to": b,
        "length_m": cells * CELL_M,
        "lane_mode": "single_alternating",
        "speed_limit_kph": 36.0,
    }


def ours(sections: list[tuple[str, int]], trucks: int) -> tuple[float, float]:
    """(wall s, makespan s) of planning every truck through the corridor."""
    lane_map = lane_map_of(sections)
    start = time.perf_counter()
    router = Router(lane_map, lane_map.vehicle_class(), CORRIDOR, WindowCalendar.always_open())
    table = ReservationTable()
    south, north = tuple(lane_map.route("ZA", "ZB")), tuple(lane_map.route("ZB", "ZA"))
    half = trucks // 2
    requests = [
        TripRequest(
            f"T{k}",
            south if k < half else north,
            0.0,
            Direction.SOUTHBOUND if k < half else Direction.NORTHBOUND,
        )
        for k in range(trucks)
    ]
    trips = plan_batch(router, table, requests)
    if trips is None:
        raise RuntimeError("the batch could not be planned")
    return time.perf_counter() - start, max(t.lane_exit_s for t in trips)


def mapf_problem(sections: list[tuple[str, int]], trucks: int) -> MAPFProblem:
    edges = []
    col = 0
    line = [(0, 0)]
    for kind, n in sections:
        if kind == "bay":
            loop = [(1, col + j) for j in range(n)]
            edges.append(((0, col), loop[0]))
            edges += list(itertools.pairwise(loop))
            edges.append((loop[-1], (0, col + n - 1 if n > 1 else col + 1)))
            for j in range(max(n - 1, 1)):
                edges.append(((0, col + j), (0, col + j + 1)))
                line.append((0, col + j + 1))
            col += max(n - 1, 1)
        else:
            for _ in range(n):
                edges.append(((0, col), (0, col + 1)))
                col += 1
                line.append((0, col))
    half = trucks // 2
    left = [(-1, i) for i in range(trucks)]
    right = [(-2, i) for i in range(trucks)]
    edges += [((0, 0), y) for y in left] + [((0, col), y) for y in right]
    agents = [Agent(f"S{i}", left[i], right[i]) for i in range(half)]
    agents += [Agent(f"N{i}", right[half + i], left[half + i]) for i in range(trucks - half)]
    return MAPFProblem(ExplicitGraph.undirected(edges), agents)


def _heuristic(a: Any, b: Any) -> int:
    return abs(a[1] - b[1])


def pymapf_best(
    sections: list[tuple[str, int]], trucks: int
) -> tuple[float | None, str, float, bool]:
    problem = mapf_problem(sections, trucks)
    best: float | None = None
    who = "none"
    for name, kwargs in (
        ("prioritized", {"heuristic": _heuristic}),
        ("lns", {"time_limit": 2, "seed": 0, "heuristic": _heuristic}),
    ):
        try:
            sol = get_solver(name, **kwargs).solve(problem)
        except Exception:
            sol = None
        if sol is not None and (best is None or sol.makespan < best):
            best, who = float(sol.makespan), name
    start = time.perf_counter()
    try:
        sol = get_solver("lacam", time_limit=LACAM_LIMIT_S, seed=0).solve(problem)
    except Exception:
        sol = None
    lacam_s = time.perf_counter() - start
    if sol is not None and (best is None or sol.makespan < best):
        best, who = float(sol.makespan), "lacam"
    return best, who, lacam_s, sol is not None


def measure() -> tuple[float, float]:
    outcomes = []
    for name, sections in [("reference-core", REFERENCE_CORE)] + [
        (f"family-{i}", s) for i, s in enumerate(FAMILY)
    ]:
        for trucks in SIZES:
            wall, makespan = ours(sections, trucks)
            best, who, lacam_s, lacam_ok = pymapf_best(sections, trucks)
            outcomes.append(Outcome(name, trucks, wall, makespan, best, who, lacam_s, lacam_ok))
    _report["outcomes"] = outcomes
    return sum(o.ours_s for o in outcomes), sum(o.lacam_s for o in outcomes)


def details() -> list[dict[str, Any]]:
    """Per-instance outcomes of the last run, for the result file."""
    return [o.__dict__ for o in _report.get("outcomes", [])]


def met(ours_s: float, baseline_s: float) -> bool:
    outcomes = _report["outcomes"]
    solved = all(o.ours_s < 1.0 for o in outcomes)
    quality = all(o.mapf_best is None or o.ours_makespan <= o.mapf_best + 1e-6 for o in outcomes)
    return solved and quality and baseline_s >= 10 * ours_s


if __name__ == "__main__":
    o, b = measure()
    for x in _report["outcomes"]:
        print(
            f"{x.instance:<15} {x.trucks:>3}  ours {x.ours_s * 1000:7.1f} ms makespan "
            f"{x.ours_makespan:6.0f}  pymapf best {x.mapf_best} ({x.mapf_solver})  "
            f"lacam {'ok' if x.lacam_ok else 'FAIL'} {x.lacam_s:.2f} s"
        )
    print(f"total ours {o:.3f} s, lacam {b:.1f} s")
