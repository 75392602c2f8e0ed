"""The planner on the reference corridor and agreement: safe, inside the windows, and the
controllers rank as expected on a saturated workload."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from corridor_core.agreement import load_agreement
from corridor_core.iso6346 import with_check_digit
from corridor_core.map_io import load_map
from corridor_core.planning.planner import Planner
from corridor_core.planning.router import CONTROLLERS
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction

from .planning_harness import Driver

ROOT = Path(__file__).resolve().parents[3]
EPOCH = dt.datetime(2027, 3, 1, 0, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _loaded(controller: str, calendar: WindowCalendar, trucks: int = 24, runs: int = 300) -> Driver:
    lane_map = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")
    planner = Planner(lane_map, calendar, CONTROLLERS[controller])
    for k in range(trucks):
        planner.add_truck(f"T{k:02d}", "Z-CN" if k % 2 == 0 else "Z-VN", 0.0)
    for i in range(runs):
        south = (i * 0.45) % 1 < 0.55
        o, d, di = (
            ("Z-CN", "Z-VN", Direction.SOUTHBOUND)
            if south
            else ("Z-VN", "Z-CN", Direction.NORTHBOUND)
        )
        planner.add_run(
            ContainerRun(f"R{i:04d}", with_check_digit(f"REFU{100000 + i}"), o, d, di, 0.0),
            0.0,
            cleared_s=0.0,
        )
    return Driver(planner)


def test_calendar_from_two_way_2027_matches_the_agreement() -> None:
    agreement = load_agreement(ROOT / "config" / "agreements" / "two-way-2027.yaml")
    calendar = WindowCalendar.from_agreement(agreement, EPOCH, 2 * 86400)
    first = calendar.intervals[Direction.SOUTHBOUND][0]
    assert (first.open_s, first.last_entry_s, first.close_s) == (6 * 3600, 21.75 * 3600, 22 * 3600)


def test_a_day_under_two_way_2027_is_safe_and_inside_the_windows() -> None:
    agreement = load_agreement(ROOT / "config" / "agreements" / "two-way-2027.yaml")
    calendar = WindowCalendar.from_agreement(agreement, EPOCH, 3 * 86400)
    driver = _loaded("corridor", calendar)
    driver.step_until(30 * 3600, tick_s=120)
    assert driver.violations == []
    entries = [t.lane_entry_s % 86400 for t in driver.finished]
    exits = [t.lane_exit_s % 86400 for t in driver.finished]
    assert driver.finished and min(entries) >= 6 * 3600 and max(exits) <= 22 * 3600


@pytest.mark.parametrize("controller", ["corridor", "batch3", "fifo"])
def test_controllers_are_safe_on_the_reference_corridor(controller: str) -> None:
    driver = _loaded(controller, WindowCalendar.always_open())
    driver.step_until(3 * 3600, tick_s=60)
    assert driver.violations == []


def test_corridor_beats_batch3_beats_fifo() -> None:
    done = {}
    for controller in ("corridor", "batch3", "fifo"):
        driver = _loaded(controller, WindowCalendar.always_open(), trucks=40, runs=600)
        driver.check = lambda: None  # safety is covered above; this measures flow
        driver.step_until(4 * 3600, tick_s=60)
        done[controller] = sum(r.done for r in driver.planner.runs.values())
    assert done["corridor"] > done["batch3"] > done["fifo"], done


def test_battery_swap_is_planned_when_due() -> None:
    lane_map = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")
    planner = Planner(lane_map, WindowCalendar.always_open())
    planner.add_truck("T01", "Z-CN", 0.0)
    planner.trucks["T01"].runs_since_swap = 2 * lane_map.vehicle_class().swap_every_round_trips
    planner.add_run(
        ContainerRun("R1", with_check_digit("SWPU100000"), "Z-CN", "Z-VN", Direction.SOUTHBOUND),
        0.0,
        cleared_s=0.0,
    )
    swaps = planner.table.services["CN-BATTERY-SWAP"]
    assert len(swaps) == 1 and swaps[0].end_s - swaps[0].start_s == 300.0
    trip = planner.trucks["T01"].trips[0]
    assert trip.lane_entry_s >= swaps[0].end_s
    assert planner.trucks["T01"].runs_since_swap == 0
