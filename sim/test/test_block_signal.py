"""How trucks share the lane in the simulator: block signals, places at nodes, lane queues.

These run the engine on the reference corridor and read its occupancy rows; the safety of every
run is checked by the independent checker elsewhere (test_study.py) and again here for the
long days, where the earlier rules deadlocked.
"""

import itertools
import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from corridor_core.lane_map import LaneMode
from corridor_sim.study import StudyConfig, execute, run_study

Row = tuple[str, str, str, str, float, float]


def _rows(controller: str, hours: float, seed: int) -> tuple[list[Row], set[str], float]:
    result = run_study(StudyConfig(hours=hours, controller=controller, seed=seed))
    lm = result.engine.lane_map
    single = {s.segment_id for s in lm.segments if s.lane_mode is LaneMode.SINGLE_ALTERNATING}
    return result.engine.occupancy, single, result.metrics["throughput_per_h"]["total"]


def test_controllers_rank_as_the_facts_estimate() -> None:
    """facts §4.7: one truck at a time ~25-30/h, fixed batches of 3 ~75-80/h; ours above."""
    got = {
        c: run_study(StudyConfig(hours=6, controller=c, seed=9, record=False)).metrics[
            "throughput_per_h"
        ]["total"]
        for c in ("fifo", "batch3", "corridor")
    }
    assert 22 <= got["fifo"] <= 34, got
    assert 65 <= got["batch3"] <= 90, got
    assert got["corridor"] > got["batch3"] > 2 * got["fifo"], got


def test_fifo_takes_one_truck_at_a_time_into_a_block() -> None:
    rows, single, _ = _rows("fifo", 3, 4)
    by_block: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row[2] == "segment" and row[1] in single:
            by_block[row[1]].append(row)
    assert by_block, "no single-lane passes recorded"
    for block, passes in by_block.items():
        passes.sort(key=lambda r: r[4])
        for a, b in itertools.pairwise(passes):
            assert b[4] >= a[5] - 1e-6, f"{block}: {a[0]} and {b[0]} inside together"


def test_batch3_sends_at_most_three_in_a_row_while_the_other_side_waits() -> None:
    """A fourth same-direction truck is never let into a block while a truck of the other
    direction stands at the block's other end waiting for it; platoons of 2-3 do form. A
    truck that rolls through a passing bay into the block was let in when it entered the
    block before (its claim), so that is when the other side must not have been waiting."""
    # no disruptions: a truck standing at a block's end then waits for the block (with a
    # breakdown, the planner may hold it there for other reasons)
    result = run_study(StudyConfig(hours=4, controller="batch3", seed=7, disruptions=frozenset()))
    lm = result.engine.lane_map
    home, away = lm.yard_of(lm.southbound_from), lm.yard_of(lm.far_side())
    entry = {}  # (block, direction) -> the node it is entered from
    for d, (a, b) in (("SOUTHBOUND", (home, away)), ("NORTHBOUND", (away, home))):
        for leg in lm.route(a, b):
            entry[(leg.segment.segment_id, d)] = leg.start_node
    rows = result.engine.occupancy
    standing = [r for r in rows if r[2] == "node" and r[5] - r[4] > 1e-6]
    single = {s.segment_id for s in lm.segments if s.lane_mode is LaneMode.SINGLE_ALTERNATING}
    longest = 0
    for block in sorted(single):
        passes = sorted(
            (r for r in rows if r[1] == block and r[2] == "segment"), key=lambda r: r[4]
        )
        in_row = 0
        for k, p in enumerate(passes):
            in_row = in_row + 1 if k and passes[k - 1][3] == p[3] else 1
            longest = max(longest, in_row)
            if in_row <= 3 or p[4] < 600.0:
                continue  # (before the window opens trucks gather at the border, not asking)
            granted = _granted_at(rows, p, entry[(block, p[3])])
            other = "NORTHBOUND" if p[3] == "SOUTHBOUND" else "SOUTHBOUND"
            node = entry[(block, other)]
            waiting = [
                r[0]
                for r in standing
                if r[1] == node
                and r[3] == other
                and r[4] < granted - 1.0 < r[5]
                # at (or queued for) its gate, not yet waiting for the block
                and not _serving(rows, r[0], granted, r[5])
            ]
            assert not waiting, f"{block}: {p[0]} is {in_row}th {p[3]} while {waiting} wait"
    assert longest >= 2


def _granted_at(rows: list[Row], p: Row, node: str) -> float:
    """When pass ``p`` was let into its block: at its start, or, for a truck that rolled
    through ``node`` without standing, when it entered the segment before."""
    before = [r for r in rows if r[0] == p[0] and r[5] <= p[4] + 1e-6 and r[4] < p[4] - 1e-6]
    at_node = [r for r in rows if r[0] == p[0] and r[1] == node and abs(r[5] - p[4]) < 1e-6]
    if at_node and at_node[0][5] - at_node[0][4] < 1e-6:
        segs = [r for r in before if r[2] == "segment"]
        return max(r[4] for r in segs) if segs else p[4]
    return p[4]


def _serving(rows: list[Row], truck: str, t: float, stay_end_s: float) -> bool:
    """At ``t`` the truck is being served, or queued for a service that starts before it
    leaves the node (at ``stay_end_s``)."""
    return any(
        r[0] == truck and r[2] == "station" and r[5] + 1.0 >= t and r[4] <= stay_end_s for r in rows
    )


def test_trucks_roll_through_a_holding_place_without_standing() -> None:
    """Southbound out of the tunnel at P-S goes straight on to the two-way S3: no place taken,
    no time spent; northbound trucks stand there waiting for the tunnel."""
    rows, _, _ = _rows("corridor", 3, 6)
    at = defaultdict(list)
    for r in rows:
        if r[1] == "P-S" and r[2] == "node":
            at[r[3]].append(r[5] - r[4])
    assert at["SOUTHBOUND"] and max(at["SOUTHBOUND"]) < 1e-6
    assert at["NORTHBOUND"] and max(at["NORTHBOUND"]) > 10.0


@pytest.mark.parametrize(("controller", "seed"), [("corridor", 13), ("batch3", 14)])
def test_a_long_stress_day_neither_deadlocks_nor_breaks_a_rule(
    tmp_path: Path, controller: str, seed: int
) -> None:
    metrics, violations = execute(
        StudyConfig(hours=16, controller=controller, seed=seed), tmp_path / controller
    )
    assert violations == []
    assert metrics["conflicts"] == 0 and metrics["window_violations"] == 0
    crossings = (tmp_path / controller / "crossings.csv").read_text().splitlines()[1:]
    per_hour = Counter(int(float(line.split(",")[4]) // 3600) for line in crossings)
    quiet = [h for h in range(1, 15) if per_hour[h] == 0 and per_hour[h + 1] == 0]
    assert not quiet, f"no crossing in hours {quiet}: {dict(sorted(per_hour.items()))}"
    assert metrics["throughput_per_h"]["total"] > 60
    assert not math.isnan(metrics["share_of_bound"])


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["chain-of-blocks", "tight-pockets"])
@pytest.mark.parametrize("controller", ["corridor", "batch3", "fifo"])
def test_other_corridors_keep_moving(tmp_path: Path, name: str, controller: str) -> None:
    """Blocks in a row with one-place bays between them: a truck that cannot go (its place
    ahead is held) must not hold the block for its direction, or both sides wait for ever."""
    scenario = str(DATA / f"{name}-scenario.yaml")
    metrics, violations = execute(
        StudyConfig(scenario=scenario, hours=4, seed=3, controller=controller), tmp_path
    )
    assert violations == [] and metrics["conflicts"] == 0
    crossings = (tmp_path / "crossings.csv").read_text().splitlines()[1:]
    per_hour = Counter(int(float(line.split(",")[4]) // 3600) for line in crossings)
    assert all(per_hour[h] >= 10 for h in range(4)), dict(sorted(per_hour.items()))
