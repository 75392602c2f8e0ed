"""The physical-limit calculator against the reference scenario's back-of-envelope (§4.6)."""

from pathlib import Path

import pytest

from corridor_core.agreement import load_agreement
from corridor_core.capacity import Assumptions, GroupPlan, calculate, total_at_split
from corridor_core.map_io import load_map
from corridor_core.runs import Direction

ROOT = Path(__file__).resolve().parents[3]
REF = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"
S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND


def _within(value: float, expected: float, rel: float = 0.05) -> bool:
    return abs(value - expected) <= rel * expected


@pytest.fixture(scope="module")
def reference():
    return calculate(load_map(REF), 40, 0.55, Assumptions.REFERENCE)


def _element(report, element_id):
    return next(e for e in report.elements if e.element_id == element_id)


def test_reference_figures_within_five_percent(reference) -> None:
    # §4.6: lanes ~600-780/h per lane; tunnel 135/h at platoons 6/5; S4 ~150/h; VN gate
    # southbound-limited ~218/h; CN scanner ~333/h; yards 120/h; fleet of 40 ~119/h in a
    # ~36.7 min cycle; physical bound ~120/h.
    assert _within(_element(reference, "S1").southbound_per_h, 780)
    assert _within(_element(reference, "S5").southbound_per_h, 600)
    tunnel = _element(reference, "S2")
    assert _within(tunnel.total_per_h, 135) and "platoons 6 S / 5 N" in tunnel.detail
    assert _within(_element(reference, "S4a+S4b").total_per_h, 150)
    assert _within(_element(reference, "VN-GATE-IN").total_per_h, 218)
    assert _within(_element(reference, "CN-SCANNER").total_per_h, 333)
    assert _within(_element(reference, "CN-YARD").total_per_h, 120)
    assert _within(_element(reference, "fleet").total_per_h, 119)
    assert _within(reference.round_trip_s / 60, 36.7)
    assert _within(reference.binding_bound_per_h, 120)
    assert reference.binding_element in ("fleet", "CN-YARD", "VN-YARD")


def test_tunnel_as_a_function_of_platoon_size() -> None:
    # C = 2*108 + (nS-1)*6 + (nN-1)*6 + 20: n=1 -> 30/h, n=3 -> 83/h, n=8 -> 180/h in total.
    for n, expected in ((1, 30), (3, 83), (8, 180)):
        plan = GroupPlan(("S2",), 108.0, 6.0, 10.0, n, n)
        assert _within(plan.per_h(S) + plan.per_h(N), expected)


def test_full_assumptions_are_stricter_and_say_why() -> None:
    full = calculate(load_map(REF), 40, 0.55, Assumptions.FULL)
    assert full.binding_bound_per_h < 120
    assert any("differs" in note for note in full.notes)
    assert any("VN-INSPECTION" in note for note in full.notes)  # off-lane element flagged


def test_fleet_size_moves_the_fleet_bound() -> None:
    lane_map = load_map(REF)
    small = calculate(lane_map, 24, 0.55, Assumptions.REFERENCE)
    assert small.binding_element == "fleet"
    assert _within(small.binding_bound_per_h, 71)  # §4.6: 24 trucks ~71/h


def test_agreement_gives_open_hours_and_a_daily_figure() -> None:
    agreement = load_agreement(ROOT / "config" / "agreements" / "two-way-2027.yaml")
    report = calculate(load_map(REF), 40, 0.55, Assumptions.REFERENCE, agreement)
    assert report.open_hours_per_day == {"SOUTHBOUND": 15.75, "NORTHBOUND": 15.75}
    assert report.containers_per_day == pytest.approx(report.binding_bound_per_h * 15.75)


def test_other_map_shape_has_no_single_lane_and_binds_elsewhere() -> None:
    report = calculate(load_map(ROOT / "maps" / "ganqimaodu-gashuunsukhait.yaml"), 24, 0.9)
    assert not any(e.kind == "single_lane" for e in report.elements)
    assert report.binding_element in ("fleet", "MN-YARD", "CN-YARD", "MN-GATE", "CN-SMART-GATE")


def test_total_at_split() -> None:
    assert total_at_split(55.0, 45.0, 0.55) == pytest.approx(100.0)
    assert total_at_split(None, 45.0, 0.55) == pytest.approx(100.0)
    assert total_at_split(None, None, 0.5) == float("inf")
