"""Agreements: windows in two clocks, edges, midnight, blackouts, holidays, validity."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor_core.agreement import agreement_to_dict, load_agreement, parse_agreement
from corridor_core.runs import Direction

ROOT = Path(__file__).resolve().parents[3]
VN, CN = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("Asia/Shanghai")
OFFSET_H = {"Asia/Ho_Chi_Minh": 7, "Asia/Shanghai": 8}  # no DST in either zone
S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND


def _doc(open_: str, close: str, tz: str, margin: float = 0, **extra) -> dict:
    return {
        "name": "t", "version": 1, "time_zone": "Asia/Ho_Chi_Minh",
        "valid_from": "2027-01-01", "valid_until": "2027-12-31", "max_trucks_on_lane": 10,
        "windows": [{"id": "w", "directions": ["SOUTHBOUND"], "time_zone": tz, "open": open_,
                     "close": close, "last_entry_margin_min": margin}],
        "sign_off": [{"party": "VN", "authority": "a"}, {"party": "CN", "authority": "b"}],
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize("name", ["two-way-2027", "pilot-2025-night", "design-24x7"])
def test_reference_agreements_load_and_round_trip(name: str) -> None:
    agreement = load_agreement(ROOT / "config" / "agreements" / f"{name}.yaml")
    assert parse_agreement(agreement_to_dict(agreement), "x") == agreement


def test_two_way_2027_edges_in_both_clocks() -> None:
    a = load_agreement(ROOT / "config" / "agreements" / "two-way-2027.yaml")
    day = dt.date(2027, 3, 1)
    cases = [((5, 59, 59), False), ((6, 0, 0), True), ((21, 44, 59), True), ((21, 45, 0), False)]
    for (h, m, s), allowed in cases:
        at = dt.datetime.combine(day, dt.time(h, m, s), tzinfo=VN)
        assert a.may_enter(at, S).allowed is allowed, at
        assert a.may_enter(at.astimezone(CN), N).allowed is allowed, at
    past_border = dt.datetime(2027, 3, 1, 21, 50, tzinfo=VN)
    assert a.may_enter(past_border, S, before_border=False).allowed
    assert not a.may_enter(
        dt.datetime(2027, 3, 1, 22, 0, tzinfo=VN), S, before_border=False
    ).allowed
    # 23:00 CST is 22:00 ICT: closed, said in the Chinese clock
    assert not a.may_enter(
        dt.datetime(2027, 3, 1, 23, 0, tzinfo=CN), S, before_border=False
    ).allowed


def test_holiday_blackout_and_validity() -> None:
    a = load_agreement(ROOT / "config" / "agreements" / "two-way-2027.yaml")
    holiday = a.may_enter(dt.datetime(2027, 2, 6, 12, 0, tzinfo=VN), S)
    assert not holiday.allowed and "holiday" in holiday.reason
    assert "validity" in a.may_enter(dt.datetime(2028, 1, 2, 12, 0, tzinfo=VN), S).reason
    d = load_agreement(ROOT / "config" / "agreements" / "design-24x7.yaml")
    assert not d.may_enter(dt.datetime(2027, 3, 1, 6, 10, tzinfo=VN), N).allowed
    assert not d.may_enter(dt.datetime(2027, 3, 1, 5, 50, tzinfo=VN), N).allowed  # last entry
    assert d.may_enter(dt.datetime(2027, 3, 1, 6, 30, tzinfo=VN), N).allowed
    assert d.may_enter(dt.datetime(2027, 3, 1, 0, 0, tzinfo=CN), N).allowed  # no midnight gap
    p = load_agreement(ROOT / "config" / "agreements" / "pilot-2025-night.yaml")
    assert not p.may_enter(dt.datetime(2025, 11, 12, 19, 0, tzinfo=VN), N).allowed
    assert p.may_enter(dt.datetime(2025, 11, 12, 19, 0, tzinfo=VN), S).allowed


def test_naive_times_are_refused() -> None:
    a = parse_agreement(_doc("06:00", "22:00", "Asia/Ho_Chi_Minh"), "x")
    with pytest.raises(ValueError, match="time-zone-aware"):
        a.may_enter(dt.datetime(2027, 3, 1, 12, 0), S)


def _oracle(open_min: int, close_min: int, tz: str, margin: float, at: dt.datetime) -> bool:
    """Independent answer by fixed-offset minute arithmetic (no zoneinfo)."""
    utc_s = (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()
    local_s = utc_s + OFFSET_H[tz] * 3600
    length = ((close_min - open_min) % 1440 or 1440) * 60
    day_s = local_s - local_s % 86400
    for start in (day_s - 86400 + open_min * 60, day_s + open_min * 60):
        if 0 <= local_s - start < length - margin * 60:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    open_min=st.integers(0, 1439),
    length_min=st.integers(1, 1439),
    tz=st.sampled_from(sorted(OFFSET_H)),
    margin_frac=st.floats(0, 0.99),
    at_s=st.integers(0, 7 * 86400),
)
def test_window_queries_agree_across_clocks_and_with_an_oracle(
    open_min: int, length_min: int, tz: str, margin_frac: float, at_s: int
) -> None:
    close_min = (open_min + length_min) % 1440
    margin = int(length_min * margin_frac)
    a = parse_agreement(
        _doc(f"{open_min // 60:02d}:{open_min % 60:02d}",
             f"{close_min // 60:02d}:{close_min % 60:02d}", tz, margin), "x")  # fmt: skip
    at = dt.datetime(2027, 3, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=at_s)
    in_vn, in_cn = a.may_enter(at.astimezone(VN), S), a.may_enter(at.astimezone(CN), S)
    assert in_vn.allowed == in_cn.allowed == _oracle(open_min, close_min, tz, margin, at)


@settings(max_examples=100, deadline=None)
@given(open_min=st.integers(0, 1439), length_min=st.integers(2, 1439),
       tz=st.sampled_from(sorted(OFFSET_H)))  # fmt: skip
def test_window_edges_open_inclusive_last_entry_exclusive(open_min, length_min, tz) -> None:
    close_min = (open_min + length_min) % 1440
    margin = length_min // 2
    a = parse_agreement(
        _doc(f"{open_min // 60:02d}:{open_min % 60:02d}",
             f"{close_min // 60:02d}:{close_min % 60:02d}", tz, margin), "x")  # fmt: skip
    zone = ZoneInfo(tz)
    start = dt.datetime(2027, 3, 10, tzinfo=zone) + dt.timedelta(minutes=open_min)
    cutoff = start + dt.timedelta(minutes=length_min - margin)
    other = CN if zone == VN else VN
    for clock in (zone, other):
        assert a.may_enter(start.astimezone(clock), S).allowed
        assert not a.may_enter((start - dt.timedelta(seconds=1)).astimezone(clock), S).allowed
        assert a.may_enter((cutoff - dt.timedelta(seconds=1)).astimezone(clock), S).allowed
        assert not a.may_enter(cutoff.astimezone(clock), S).allowed
