"""The interlock's places and block signals alone, on the reference map (no engine, no clock)."""

from pathlib import Path

import pytest

from corridor_core.interlock import BlockSignals, Places, opposite
from corridor_core.lane_map import LaneMode, NodeKind
from corridor_core.map_io import load_map
from corridor_core.runs import Direction

S, N = Direction.SOUTHBOUND, Direction.NORTHBOUND
MAP = Path(__file__).resolve().parents[3] / "maps" / "tan-thanh-puzhai-2027.yaml"


@pytest.fixture(scope="module")
def places() -> Places:
    lm = load_map(MAP)
    single = {s.segment_id for s in lm.segments if s.lane_mode is LaneMode.SINGLE_ALTERNATING}
    border = {n.node_id for n in lm.nodes if n.kind is NodeKind.BORDER_POINT}
    stands = {("G-VN", S), ("G-VN", N), ("G-CN", S), ("G-CN", N)} | {
        (b, d) for b in border for d in Direction
    }
    out = Places(lm, single, stands)
    out.set_platoon_caps({s: 6 for s in single})
    return out


def test_places_count_slots_and_service_lanes(places: Places) -> None:
    # G-VN: 3 holding slots + VN-GATE-IN + VN-GATE-OUT; B0: 3 + 3 token servers
    assert places.capacity["G-VN"] == 5 and places.capacity["B0"] == 6
    assert places.unbounded("Z-CN") and not places.unbounded("P-S")


def test_a_direction_leaves_room_for_the_platoon_that_must_stand(places: Places) -> None:
    # southbound comes out of S4b and must stand at the G-VN gate: northbound keeps off 3
    assert places.limit[("G-VN", N)] == 2 and places.limit[("G-VN", S)] == 4
    # northbound comes out of S4a and must stand at B0 for the token
    assert places.limit[("B0", S)] == 3 and places.limit[("B0", N)] == 5
    # at the pockets the other direction rolls through: keep one place
    assert places.limit[("P-S", N)] == 5 and places.limit[("P-N", S)] == 5


def test_room_take_leave_and_hand_over() -> None:
    lm = load_map(MAP)
    p = Places(lm, set(), set())
    p.set_platoon_caps({})
    for k in range(5):  # P-N: 6 places, one direction at most 5
        assert p.room_at("P-N", S)
        p.take(f"T{k}", "P-N", S)
    assert not p.room_at("P-N", S) and p.room_at("P-N", N)
    p.take("U0", "P-N", N)
    assert not p.room_at("P-N", N) and not p.room_at("P-N", S)
    assert p.has_place("T0", "P-N", S) and not p.has_place("X", "P-N", S)
    assert p.hand_over("P-N", S, "X", ["Y", "T3"]) and p.holds("X", "P-N")
    assert not p.holds("T3", "P-N")
    p.leave("X", "P-N")
    assert p.room_at("P-N", S)
    p.take("T9", "Z-CN", S)  # unbounded: nothing held
    assert not p.holds("T9", "Z-CN")


def _never_stale(truck: str, seg: str) -> bool:
    return True


def test_signal_caps_a_direction_only_while_the_other_waits() -> None:
    sig = BlockSignals({"S2"})
    sig.set_caps({"S2": 3})
    for k in range(5):  # nobody waits on the other side: the phase goes on past the cap
        assert sig.allows("S2", S, f"T{k}", {}, _never_stale)
        sig.count_entry("S2", S)
    sig.ask("S2", "U1", N)
    assert not sig.allows("S2", S, "T9", {}, _never_stale)
    assert sig.allows("S2", N, "U1", {}, _never_stale)
    # an ask gone stale no longer holds the phase
    assert sig.allows("S2", S, "T9", {}, lambda truck, seg: False)
    assert sig.requests["S2"] == {}


def test_fifo_takes_one_truck_at_a_time_and_claims_keep_the_block() -> None:
    sig = BlockSignals({"S4a", "S4b"})
    sig.set_caps({"S4a": 1, "S4b": 1})
    assert not sig.allows("S4a", S, "T2", {"T1": S}, _never_stale)
    assert sig.allows("S4a", S, "T2", {}, _never_stale)
    sig.claim("S4b", "T1", S)
    assert sig.phase["S4b"] == (S, 1)
    assert not sig.free_for("S4b", N, "U1", {})
    assert sig.free_for("S4b", S, "T1", {}) and sig.allows("S4b", S, "T1", {}, _never_stale)
    assert not sig.allows("S4b", S, "T2", {}, _never_stale)
    sig.drop_claims("T1")
    assert sig.free_for("S4b", N, "U1", {}) and not sig.has_claim("S4b", "T1")
    assert opposite(S) is N and opposite(N) is S
