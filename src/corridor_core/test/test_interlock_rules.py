"""The interlock's rules alone: block entry over the lane's occupancy, and the departure rules
(window, last entry, close, clearance, token). No engine, no clock."""

import math
from pathlib import Path

import pytest

from corridor_core.interlock import LaneInterlock, crossing_allowed, window_allows_departure
from corridor_core.interlock.limits import platoon_cap
from corridor_core.map_io import load_map
from corridor_core.planning.windows import OpenInterval, WindowCalendar
from corridor_core.runs import Direction

S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND
MAP = Path(__file__).resolve().parents[3] / "maps" / "tan-thanh-puzhai-2027.yaml"


def _always(truck: str, seg: str) -> bool:
    return True


def _never() -> bool:
    return False


@pytest.fixture
def lane() -> LaneInterlock:
    lm = load_map(MAP)
    out = LaneInterlock(lm, lm.vehicle_class().length_m)
    out.set_platoon_caps({s: platoon_cap(lm, s, None) for s in out.single})
    return out


def test_a_block_is_entered_only_free_after_the_all_clear_and_with_a_place(
    lane: LaneInterlock,
) -> None:
    assert lane.may_enter("T1", "S2", S, 0.0, "P-S", 6.0, _never, _always) == (True, None)
    lane.entered("T1", "S2", S, 0.0, "P-N")
    # the other direction: not while T1 is inside, and its ask stays with the signal
    assert lane.may_enter("U1", "S2", N, 50.0, "P-N", 6.0, _never, _always) == (False, None)
    assert lane.signals.requests["S2"] == {"U1": N}
    lane.exited("T1", "S2", S, 110.0)
    # all_clear_s (10 s) after the last opposite exit
    assert lane.may_enter("U1", "S2", N, 115.0, "P-N", 6.0, _never, _always) == (False, 120.0)
    assert lane.may_enter("U1", "S2", N, 120.0, "P-N", 6.0, _never, _always) == (True, None)
    # the following rule's headway behind a same-direction entry
    lane.entered("U1", "S2", N, 120.0, "P-S")
    assert lane.may_enter("U2", "S2", N, 123.0, "P-N", 6.0, _never, _always) == (False, 126.0)


def test_no_entry_into_a_block_without_a_place_or_a_way_on(lane: LaneInterlock) -> None:
    for k in range(3):  # PB full (3 places)
        lane.places.held["PB"][f"X{k}"] = S
    assert lane.may_enter("T1", "S4a", S, 0.0, "PB", 6.0, _never, _always) == (False, None)
    assert lane.signals.requests["S4a"] == {}  # a truck that cannot go does not ask
    assert lane.may_enter("T1", "S4a", S, 0.0, "PB", 6.0, lambda: True, _always) == (True, None)


def test_a_truck_rolls_through_a_passing_bay_only_into_a_block_it_may_claim(
    lane: LaneInterlock,
) -> None:
    assert lane.must_stand("B0", S) and lane.must_stand("G-VN", S) and not lane.must_stand("PB", S)
    assert lane.may_roll_through("T1", S, "PB", "S4a", "S4b", "G-VN", _always)
    assert not lane.may_roll_through("T1", S, "PB", None, "S4b", "G-VN", _always)
    lane.entered("U1", "S4b", N, 0.0, "G-VN")
    assert not lane.may_roll_through("T1", S, "PB", "S4a", "S4b", "G-VN", _always)
    lane.exited("U1", "S4b", N, 30.0)
    lane.claim_through("T2", "S4b", "G-VN", S)
    assert not lane.block_free_for("S4b", N, "U2") and lane.places.holds("T2", "G-VN")


def _calendar() -> WindowCalendar:
    return WindowCalendar({S: (OpenInterval(1000.0, 4000.0, 5000.0),), N: ()})


def _depart(now: float, **kw: object) -> tuple[bool, float | None]:
    args: dict[str, object] = {
        "at_yard": True, "at_border": False, "held": False, "planned_border_s": None,
        "to_border_s": lambda: 300.0, "to_end_s": lambda: 600.0,
    }  # fmt: skip
    args.update(kw)
    return window_allows_departure(_calendar(), S, now, **args)  # type: ignore[arg-type]


def test_a_truck_leaves_its_yard_only_if_the_window_can_take_it() -> None:
    assert _depart(2000.0) == (True, None)
    # closed: out early only if the window opens by the time it reaches the border
    assert _depart(500.0) == (False, 700.0)
    assert _depart(800.0) == (True, None)
    assert _depart(3700.0) == (False, None)  # at the border after the last entry
    assert _depart(3000.0, to_end_s=lambda: 2500.0) == (False, None)  # home after the close
    assert _depart(2000.0, held=True) == (False, None)
    assert _depart(2000.0, planned_border_s=4500.0) == (False, None)  # planned for later
    # on the lane it goes on; at the border point it waits for the open
    assert _depart(3700.0, at_yard=False) == (True, None)
    assert _depart(500.0, at_yard=False) == (True, None)
    assert _depart(500.0, at_yard=False, at_border=True) == (False, None)
    assert window_allows_departure(
        _calendar(), N, 0.0, at_yard=False, at_border=False, held=False,
        planned_border_s=None, to_border_s=lambda: 0.0, to_end_s=lambda: 0.0,
    ) == (False, None)  # fmt: skip


def test_a_crossing_needs_clearance_and_the_token() -> None:
    assert crossing_allowed(10.0, False, 5.0) and crossing_allowed(10.0, False)
    assert not crossing_allowed(10.0, False, math.inf)
    assert not crossing_allowed(10.0, True, 5.0)
