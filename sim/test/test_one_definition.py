"""Each limit has one definition (corridor_core.interlock), and everything that uses it agrees:
the router and the planner, the plan checker, the capacity calculator, the simulator's
interlock and the run checker. On every map in maps/, the test maps, and the generated
corridors of test_generated_corridors.py."""

import importlib.util
import math
import random
from collections import defaultdict
from pathlib import Path

import pytest

from corridor_core.capacity import _leg_time_s, _platoon_limits, single_lane_groups
from corridor_core.interlock.leg_time import leg_time_s
from corridor_core.interlock.limits import (
    DEFAULT_PLATOON_CAP,
    DWELL_KINDS,
    dwell_stands,
    lane_room,
    platoon_cap,
    standing_capacities,
)
from corridor_core.lane_map import LaneMap, LaneMode
from corridor_core.map_io import load_map, parse_map
from corridor_core.planning.checker import standing_limits
from corridor_core.planning.router import CONTROLLERS, Router, standing_slots
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction
from corridor_sim.engine import CorridorEngine, EngineConfig
from corridor_sim.run_check import ByResource, Occupancy, _check_capacity

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _generated() -> list[tuple[str, LaneMap]]:
    spec = importlib.util.spec_from_file_location("generated", HERE / "test_generated_corridors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [
        (f"generated-{k}", parse_map(module.corridor(random.Random(1000 + k)), "generated.yaml"))
        for k in range(10)
    ]


MAPS = [(p.stem, load_map(p)) for p in sorted((ROOT / "maps").glob("*.yaml"))]
MAPS += [(p.stem, load_map(p)) for p in sorted((HERE / "data").glob("*.yaml"))
         if not p.stem.endswith("-scenario")]  # fmt: skip
MAPS += _generated()
IDS = [name for name, _ in MAPS]


def _engine(lane_map: LaneMap, controller: str) -> CorridorEngine:
    cfg = EngineConfig(lane_map, WindowCalendar.always_open(), controller, fleet=2, record=False)
    return CorridorEngine(cfg)


def test_the_reference_map_figures() -> None:
    lm = dict(MAPS)["tan-thanh-puzhai-2027"]
    places = standing_capacities(lm)
    assert (places["G-CN"], places["B0"], places["PB"], places["G-VN"]) == (11, 6, 3, 5)
    assert math.isinf(places["Z-CN"]) and math.isinf(places["Z-VN"])
    caps = {s: platoon_cap(lm, s, None) for s in ("S2", "S4a", "S4b")}
    assert caps == {"S2": 6, "S4a": 6, "S4b": 5}


@pytest.mark.parametrize(("name", "lane_map"), MAPS, ids=IDS)
def test_standing_capacity_is_the_same_everywhere(name: str, lane_map: LaneMap) -> None:
    expected = standing_capacities(lane_map)
    router = Router(lane_map, lane_map.vehicle_class(), CONTROLLERS["corridor"],
                    WindowCalendar.always_open())  # fmt: skip
    assert {n: router.slots(n) for n in expected} == expected
    assert {n: standing_slots(lane_map, n) for n in expected} == expected
    assert standing_limits(lane_map) == expected
    assert _engine(lane_map, "corridor").places.capacity == expected
    # the run checker: as many trucks at a node as its places are fine, one more is not
    for node, places in expected.items():
        if math.isinf(places):
            continue
        for count, broken in ((int(places), False), (int(places) + 1, True)):
            rows = [Occupancy(k + 2, f"T{k}", node, "node", Direction.SOUTHBOUND, 0.0, 10.0)
                    for k in range(count)]  # fmt: skip
            found = _check_capacity(ByResource({("node", node): rows}), lane_map)
            assert any(f"node {node}:" in v.detail for v in found) is broken, (node, count)


@pytest.mark.parametrize(("name", "lane_map"), MAPS, ids=IDS)
@pytest.mark.parametrize("controller", ["corridor", "batch3", "fifo"])
def test_platoon_caps_are_the_same_for_planner_and_signals(
    name: str, lane_map: LaneMap, controller: str
) -> None:
    ctrl = CONTROLLERS[controller]
    router = Router(lane_map, lane_map.vehicle_class(), ctrl, WindowCalendar.always_open())
    engine = _engine(lane_map, controller)
    for seg in lane_map.segments:
        if seg.lane_mode is not LaneMode.SINGLE_ALTERNATING:
            continue
        cap = platoon_cap(lane_map, seg.segment_id, ctrl.platoon_cap)
        assert router.rules[seg.segment_id].platoon_cap == cap
        assert engine.signals.cap[seg.segment_id] == cap
        assert engine.planner.router.rules[seg.segment_id].platoon_cap == cap


@pytest.mark.parametrize(("name", "lane_map"), MAPS, ids=IDS)
def test_leg_time_dwell_kinds_and_room_are_the_same_everywhere(
    name: str, lane_map: LaneMap
) -> None:
    veh = lane_map.vehicle_class()
    router = Router(lane_map, veh, CONTROLLERS["corridor"], WindowCalendar.always_open())
    engine = _engine(lane_map, "corridor")
    home, away = lane_map.yard_of(lane_map.southbound_from), lane_map.yard_of(lane_map.far_side())
    for d, (a, b) in ((Direction.SOUTHBOUND, (home, away)), (Direction.NORTHBOUND, (away, home))):
        legs = lane_map.route(a, b)
        speeds = [min(leg.segment.speed_limit_kph, veh.max_speed_kph) / 3.6 for leg in legs]
        for leg, v in zip(legs, speeds, strict=True):
            rest = leg_time_s(leg.segment.length_m, v, 0.0, 0.0, veh.accel_loaded_mps2,
                              veh.braking_mps2)  # fmt: skip
            assert router.traversal_s(leg) == rest
        # the capacity calculator's route: stop at the dwell stations, roll through the rest
        stops = {st.node for st in lane_map.stations
                 if st.kind in DWELL_KINDS and d in st.directions and st.share >= 1.0}  # fmt: skip
        ends = [0.0] + [0.0 if legs[i].start_node in stops else min(speeds[i - 1], speeds[i])
                        for i in range(1, len(legs))] + [0.0]  # fmt: skip
        total = sum(leg_time_s(leg.segment.length_m, v, ends[i], ends[i + 1],
                               veh.accel_loaded_mps2, veh.braking_mps2)
                    for i, (leg, v) in enumerate(zip(legs, speeds, strict=True)))  # fmt: skip
        assert _leg_time_s(legs, lane_map, veh, d)[0] == pytest.approx(total, abs=1e-9)
        for node in {leg.start_node for leg in legs}:
            planned = {sid for sid, _, _ in router.dwell_stations(node, d)}
            assert planned <= {st.station_id for st in lane_map.stations_at(node)
                               if (st.node, d) in dwell_stands(lane_map)}  # fmt: skip
    assert engine.dwell_at == dwell_stands(lane_map)
    assert engine.lane.room == {
        s.segment_id: lane_room(lane_map, s.segment_id, veh.length_m) for s in lane_map.segments
    }


@pytest.mark.parametrize(("name", "lane_map"), MAPS, ids=IDS)
def test_the_capacity_calculator_waits_platoons_on_the_standing_places(
    name: str, lane_map: LaneMap
) -> None:
    places = standing_capacities(lane_map)
    for group in single_lane_groups(lane_map):
        ends: dict[str, int] = defaultdict(int)
        for seg in group:
            for n in (seg.from_node, seg.to_node):
                ends[n] += 1
        room = min(min(DEFAULT_PLATOON_CAP, max(1, places[n])) for n in ends)
        limits = _platoon_limits(lane_map, group, DEFAULT_PLATOON_CAP)
        assert min(limits) >= room and max(limits) <= DEFAULT_PLATOON_CAP
        assert all(limit <= max(1, places[n]) for limit in limits for n in ends if ends[n] > 1)
