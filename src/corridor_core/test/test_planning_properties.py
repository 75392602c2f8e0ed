"""Property tests of the planning core over generated corridors, workloads and events.

Every plan, after every event, is checked by the independent checker: no head-on or following
conflict, no over-capacity block, bay or station, no waiting where a truck cannot stand, no entry
outside a window or after its last entry, the corridor empty at close, no crossing before
clearance, every route a path of the map. Released bases never change, and once blockages
lift every cleared run is delivered (no deadlock).
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor_core.planning.planner import Planner
from corridor_core.planning.router import CONTROLLERS
from corridor_core.planning.windows import OpenInterval, WindowCalendar
from corridor_core.runs import Direction

from .planning_harness import Driver, all_done, make_map, run_of

S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND
PIECE = st.tuples(st.sampled_from(["two_way_dual", "single_alternating"]),
                  st.floats(100, 900), st.integers(1, 6))  # fmt: skip


def _calendar(windows: bool, open_h: float, length_h: float) -> WindowCalendar:
    if not windows:
        return WindowCalendar.always_open()
    spans = tuple(
        OpenInterval((day * 24 + open_h) * 3600, (day * 24 + open_h + length_h) * 3600 - 900,
                     (day * 24 + open_h + length_h) * 3600)
        for day in range(0, 4)
    )  # fmt: skip
    return WindowCalendar({S: spans, N: spans})


EVENTS = st.lists(
    st.tuples(
        st.floats(0, 4 * 3600),
        st.sampled_from(["breakdown", "token", "hold", "urgent", "late", "add_truck",
                         "remove_truck", "shorten"]),
        st.integers(0, 10_000),
    ),
    max_size=8,
)  # fmt: skip


# Fresh random seeds every run (the root conftest prints the seed; the profile sets how many
# examples). Every rule of the checker counts but one: a place planned over its slots
# (``holding_over_capacity``) is kept apart in ``driver.over_slots``. That is the known open
# defect: the planner releases bases to places without holding their slots, so a blockage
# with no known end can leave more trucks committed to a place than it holds. In both
# executions the interlock's places hold the later truck back (engine: ``_may_arrive``; fleet
# controller: ``Grants``, property-tested in test_fleet_controller_faults.py). See
# docs/planning.md.
@pytest.mark.property
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(PIECE, min_size=1, max_size=5),
    border=st.integers(0, 4),
    trucks=st.integers(1, 8),
    runs=st.lists(st.tuples(st.booleans(), st.floats(0, 3 * 3600), st.booleans()), min_size=1,
                  max_size=25),
    controller=st.sampled_from(sorted(CONTROLLERS)),
    windows=st.booleans(),
    open_h=st.floats(0, 6),
    events=EVENTS,
)  # fmt: skip
def test_plans_stay_safe_under_events(pieces, border, trucks, runs, controller, windows, open_h,
                                      events) -> None:  # fmt: skip
    lane_map = make_map(pieces, border if border < len(pieces) - 1 else None)
    calendar = _calendar(windows, open_h, 14.0)
    planner = Planner(lane_map, calendar, CONTROLLERS[controller])
    driver = Driver(planner)
    for i in range(trucks):
        driver.event(planner.add_truck, f"T{i}", "ZA" if i % 2 == 0 else "ZB", 0.0)
    for i, (south, ready, cleared) in enumerate(runs):
        driver.event(planner.add_run, run_of(i, S if south else N, ready), 0.0,
                     ready if cleared else None)  # fmt: skip
    segments = [s.segment_id for s in lane_map.segments]
    blocked: list[str] = []
    token = False
    for at, kind, k in sorted(events):
        driver.step_until(at)
        now = driver.now
        if kind == "breakdown":
            seg = segments[k % len(segments)]
            driver.event(planner.block_segment, seg, now)
            blocked.append(seg)
        elif kind == "token":
            driver.event(planner.withhold_token, now, now + 600 + k % 1200)
            token = True
        elif kind == "hold" and planner.runs:
            run_id = sorted(planner.runs)[k % len(planner.runs)]
            driver.event(planner.set_clearance, run_id, k % 2 == 0, now)
        elif kind == "urgent":
            driver.event(planner.add_run, run_of(5000 + k, S if k % 2 else N, now), now, now, True)
        elif kind == "late" and planner.trucks:
            truck = sorted(planner.trucks)[k % len(planner.trucks)]
            for node in lane_map.nodes:
                driver.delays[(truck, node.node_id)] = 5.0 + k % 120
        elif kind == "add_truck" and f"X{k}" not in planner.trucks:
            driver.event(planner.add_truck, f"X{k}", "ZA", now)
        elif kind == "remove_truck" and len(planner.trucks) > 1:
            idle = sorted(t for t, s in planner.trucks.items() if not s.trips)
            if idle:
                driver.event(planner.remove_truck, idle[k % len(idle)], now)
        elif kind == "shorten" and windows:
            span = planner.calendar.interval_at(S, now + 3600)
            if span is not None:
                new_close = max(now + 3600, span.close_s - 1800)
                driver.event(planner.set_calendar,
                             planner.calendar.shortened(S, now + 3600, new_close, 900)
                             .shortened(N, now + 3600, new_close, 900), now)  # fmt: skip
    for seg in blocked:
        driver.event(planner.unblock_segment, seg, driver.now)
    if token:
        driver.event(planner.restore_token, driver.now)
    for run_id, rec in sorted(planner.runs.items()):
        if math.isinf(rec.cleared_s):
            driver.event(planner.set_clearance, run_id, True, driver.now)
    driver.delays.clear()
    driver.step_until(driver.now + 5 * 86400)
    assert driver.violations == [], driver.violations[:5]
    assert driver.base_changes == [], driver.base_changes[:5]
    assert all_done(planner), sorted(r.run.run_id for r in planner.runs.values() if not r.done)


def test_a_truck_driving_to_its_base_end_is_planned_before_one_standing_at_its_own() -> None:
    """Found by a random seed: after a re-plan, a truck standing at its base end (a gate) was
    planned first and took the single-lane block that a truck already driving to its own base
    end (the 1-slot border point before the block) needed to leave; the driving one was left
    standing there as the first arrived: two trucks at a 1-slot node."""
    lane_map = make_map([("two_way_dual", 100.0, 1), ("single_alternating", 100.0, 1)], 0)
    planner = Planner(lane_map, _calendar(True, 3.1875, 14.0), CONTROLLERS["batch3"])
    driver = Driver(planner)
    for i in range(3):
        driver.event(planner.add_truck, f"T{i}", "ZA" if i % 2 == 0 else "ZB", 0.0)
    for i in range(2):
        driver.event(planner.add_run, run_of(i, N, 0.0), 0.0, 0.0)
    driver.event(planner.block_segment, "YA", 0.0)
    driver.step_until(11487.0)
    driver.event(planner.block_segment, "YA", driver.now)  # (re-plans every truck on YA)
    driver.event(planner.unblock_segment, "YA", driver.now)  # (re-plans every truck)
    driver.event(planner.unblock_segment, "YA", driver.now)
    driver.step_until(driver.now + 5 * 86400)
    assert driver.violations == [] and driver.over_slots == [], driver.over_slots[:3]
    assert all_done(planner)
