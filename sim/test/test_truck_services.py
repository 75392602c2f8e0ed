"""Emulated trucks spend the station times of the simulator's service model.

The engine and the emulated trucks call the same functions of ``corridor_core.service_model``;
here: equal streams give equal times on both sides, a truck stands under the crane for exactly
the drawn time (``pick`` RUNNING, ``driving`` false), one server serves one truck at a time,
and trucks entering a segment keep the following headway.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corridor_core.lane_map import LaneMap
from corridor_core.map_io import load_map
from corridor_core.order_feed import OrderFeed
from corridor_core.service_model import service_time_s
from corridor_core.vda5050 import HeaderStamper
from corridor_sim.study import StudyConfig, build_engine
from corridor_sim.truck_logic import TruckLogic
from corridor_sim.truck_services import LaneEntries, StationDesks, TruckServices

ROOT = Path(__file__).resolve().parents[2]
LANE_MAP = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")
BOX = "CSQU3054383"


def _station(lane_map: LaneMap, station_id: str) -> Any:
    return next(st for st in lane_map.stations if st.station_id == station_id)


def _copy(rng: np.random.Generator) -> np.random.Generator:
    return copy.deepcopy(rng)


@pytest.mark.parametrize("station_id", ["CN-YARD", "CN-GATE-OUT", "VN-GATE-IN", "KM0-TOKEN"])
def test_engine_draws_its_service_times_from_the_shared_model(station_id: str) -> None:
    engine = build_engine(StudyConfig(hours=1.0, seed=11))  # gates: ocr_misread is on
    st = _station(engine.lane_map, station_id)
    gate = st.kind.value == "gate"
    for _ in range(200):  # enough draws for some gate exceptions (2-3 %)
        service, share = _copy(engine.rng_service), _copy(engine.rng_share)
        expected = service_time_s(st, service, share if gate else None).seconds
        assert engine._service_s(st) == expected


def test_emulated_truck_draws_the_same_times_from_the_same_seed() -> None:
    seed = np.random.SeedSequence([5, 3])
    services = TruckServices(LANE_MAP, StationDesks(LANE_MAP), seed)
    service, share = (np.random.default_rng(s) for s in np.random.SeedSequence([5, 3]).spawn(2))
    gate, crane = _station(LANE_MAP, "VN-GATE-IN"), _station(LANE_MAP, "VN-YARD")
    south = gate.directions[0]
    for _ in range(100):
        [visit] = services.lane_visits("G-VN", south, loaded=True)
        assert visit.station_id == "VN-GATE-IN"
        assert visit.service_s == service_time_s(gate, service, share).seconds
        [lift] = services.load_visits("Z-VN", south)
        assert lift.service_s == service_time_s(crane, service).seconds


def _order(lane_map: LaneMap, origin: str, goal: str, order_id: str) -> dict[str, Any]:
    stops = [origin] + [leg.end_node for leg in lane_map.route(origin, goal)]
    feed = OrderFeed("T")
    body = feed.start(
        lane_map, order_id, "R1", stops, len(stops) - 1, None, 0.0, load_id=BOX, pick=True,
        drop=True,
    )  # fmt: skip
    return HeaderStamper("M").stamp("T", "order", body, 0.0)


def _truck(lane_map: LaneMap, serial: str, services: TruckServices) -> TruckLogic:
    node = lane_map.node("Z-CN")
    return TruckLogic(serial, "Z-CN", node.x_m, node.y_m, lane_map.name, 30 / 3.6, services)


def _pick_status(logic: TruckLogic) -> str:
    body = logic.state_body()
    return next(a["actionStatus"] for a in body["actionStates"] if a["actionType"] == "pick")


def _run(logic: TruckLogic, until_s: float, step_s: float = 0.5) -> list[tuple[float, dict]]:
    states = []
    t = 0.0
    while t <= until_s:
        while logic.advance(t):
            states.append((logic.clock_s, logic.state_body()))
        t += step_s
    return states


def test_truck_stands_under_the_crane_for_the_drawn_time() -> None:
    seed = np.random.SeedSequence([1, 0])
    logic = _truck(LANE_MAP, "T01", TruckServices(LANE_MAP, StationDesks(LANE_MAP), seed))
    crane = _station(LANE_MAP, "CN-YARD")
    drawn = service_time_s(crane, np.random.default_rng(np.random.SeedSequence([1, 0]).spawn(2)[0]))
    assert logic.receive_order(_order(LANE_MAP, "Z-CN", "Z-VN", "o1")).value == "ACCEPTED"
    states = _run(logic, drawn.seconds + 5)
    served = [(t, s) for t, s in states if s["information"]]
    assert served and all(not s["driving"] and s["lastNodeId"] == "Z-CN" for _, s in served)
    assert served[0][1]["information"][0]["infoType"] == "STATION_SERVICE"
    refs = served[0][1]["information"][0]["infoReferences"]
    assert {"referenceKey": "stationId", "referenceValue": "CN-YARD"} in refs
    loaded = next(t for t, s in states if s["loads"])  # the pick finishes: the box is on
    assert loaded == pytest.approx(drawn.seconds)
    before = [s for t, s in states if t < drawn.seconds]
    assert all(not s["driving"] and not s["loads"] for s in before)
    assert all(
        a["actionStatus"] == "RUNNING" for s in before for a in s["actionStates"]
        if a["actionType"] == "pick"
    )  # fmt: skip
    assert _pick_status(logic) == "FINISHED"
    departed = next(t for t, s in states if s["driving"])
    assert departed == pytest.approx(drawn.seconds)


def test_a_station_serves_one_truck_per_server() -> None:
    one_crane = dataclasses.replace(
        LANE_MAP,
        stations=tuple(
            dataclasses.replace(st, servers=1) if st.station_id == "CN-YARD" else st
            for st in LANE_MAP.stations
        ),
    )
    desks = StationDesks(one_crane)
    trucks = [
        _truck(one_crane, f"T0{k}", TruckServices(one_crane, desks, np.random.SeedSequence([2, k])))
        for k in (1, 2)
    ]
    for k, logic in enumerate(trucks):
        logic.receive_order(_order(one_crane, "Z-CN", "Z-VN", f"o{k}"))
    loaded_at = []
    t = 0.0
    while len(loaded_at) < 2:
        for logic in trucks:
            while logic.advance(t):
                if logic.loads and logic.serial not in [s for s, _ in loaded_at]:
                    loaded_at.append((logic.serial, logic.clock_s))
        t += 1.0
    crane = _station(one_crane, "CN-YARD")
    first, second = (
        service_time_s(crane, np.random.default_rng(np.random.SeedSequence([2, k]).spawn(2)[0]))
        for k in (1, 2)
    )
    assert loaded_at[0] == ("T01", pytest.approx(first.seconds))
    assert loaded_at[1] == ("T02", pytest.approx(first.seconds + second.seconds))


def test_station_desks_book_the_earliest_free_server() -> None:
    desks = StationDesks(LANE_MAP)  # CN-GATE-OUT has 2 servers
    assert desks.book("CN-GATE-OUT", 0.0, 10.0) == (0.0, 10.0)
    assert desks.book("CN-GATE-OUT", 1.0, 10.0) == (1.0, 11.0)
    assert desks.book("CN-GATE-OUT", 2.0, 10.0) == (10.0, 20.0)
    assert desks.book("CN-GATE-OUT", 30.0, 5.0) == (30.0, 35.0)


def test_lane_entries_keep_the_following_headway() -> None:
    lanes = LaneEntries(LANE_MAP)
    seg = next(s for s in LANE_MAP.segments if s.segment_id == "S1")
    headway = LANE_MAP.following_for(seg).headway_s(8.0, LANE_MAP.vehicle_class().length_m)
    assert lanes.book("G-CN", "P-N", 100.0, 8.0) == 100.0
    assert lanes.book("G-CN", "P-N", 100.0, 8.0) == pytest.approx(100.0 + headway)
    assert lanes.book("P-N", "G-CN", 100.0, 8.0) == 100.0  # the other direction is apart
