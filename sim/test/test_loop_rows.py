"""The converter from recorded VDA 5050 messages to the simulator's rows, on a hand-built
recording: one loaded truck from Z-CN over the gate and the border point, one truck coming the
other way into a single-lane block too early; then the run directory and the checker."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from pathlib import Path
from typing import Any

from corridor_core.map_io import load_map
from corridor_core.vda5050 import timestamp
from corridor_sim.loop_outputs import LoopRun, write_loop_run
from corridor_sim.loop_rows import LoopClock, rows_from_records

ROOT = Path(__file__).resolve().parents[2]
MAP_PATH = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"
LANE_MAP = load_map(MAP_PATH)
T0 = 1_800_000_000.0  # the loop's second 0 on the Unix clock
CLOCK = LoopClock(T0, 50.0)
BOX = "CSQU3054383"


class Recording:
    """Builds records as the recorder writes them; states stamped at simulated seconds."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.headers: dict[str, int] = {}

    def order(self, serial: str, nodes: list[str], at_s: float) -> None:
        edges = [
            {"edgeId": f"{seg}:{a}>{b}", "startNodeId": a, "endNodeId": b}
            for seg, a, b in ((self._segment(a, b), a, b) for a, b in itertools.pairwise(nodes))
        ]
        payload = {"orderId": f"{serial}-o", "nodes": [{"nodeId": n} for n in nodes]}
        self._add(serial, "order", {**payload, "edges": edges}, at_s)

    @staticmethod
    def _segment(a: str, b: str) -> str:
        return next(s.segment_id for s in LANE_MAP.segments if {s.from_node, s.to_node} == {a, b})

    def state(
        self,
        serial: str,
        at_s: float,
        node: str,
        driving: bool,
        ahead: str = "",
        loads: tuple[str, ...] = (),
        station: tuple[str, str] | None = None,
        header: int | None = None,
    ) -> None:
        self.headers[serial] = self.headers.get(serial, -1) + 1 if header is None else header
        info = []
        if station:
            refs = [
                {"referenceKey": "stationId", "referenceValue": station[0]},
                {"referenceKey": "direction", "referenceValue": station[1]},
            ]
            info = [{"infoType": "STATION_SERVICE", "infoLevel": "INFO", "infoReferences": refs}]
        payload = {
            "headerId": self.headers[serial],
            "lastNodeId": node,
            "driving": driving,
            "nodeStates": [{"nodeId": ahead}] if ahead else [],
            "loads": [{"loadId": x} for x in loads],
            "information": info,
        }
        self._add(serial, "state", payload, at_s)

    def _add(self, serial: str, kind: str, payload: dict[str, Any], at_s: float) -> None:
        epoch = T0 + at_s / CLOCK.time_scale
        payload = {"timestamp": timestamp(epoch), **payload}
        topic = f"uagv/v2/CorridorSim/{serial}/{kind}"
        # ``t`` (arrival) is later than the stamp: the converter goes by the stamp
        self.records.append(
            {"t": epoch + 0.05, "topic": topic, "qos": 0, "retain": False, "payload": payload}
        )


S, N = "SOUTHBOUND", "NORTHBOUND"


def _recording() -> Recording:
    rec = Recording()
    rec.order("T01", ["Z-CN", "G-CN", "P-N", "P-S", "B0", "PB"], 0.0)
    rec.state("T01", 0.0, "Z-CN", False, "G-CN", station=("CN-YARD", S))
    rec.state("T01", 180.0, "Z-CN", False, "G-CN", loads=(BOX,))
    rec.state("T01", 181.0, "Z-CN", True, "G-CN", loads=(BOX,))
    rec.state("T01", 199.0, "G-CN", False, "P-N", loads=(BOX,), station=("CN-GATE-OUT", S))
    rec.state("T01", 199.0, "G-CN", False, "P-N", loads=(BOX,), header=3)  # duplicate: stale
    rec.state("T01", 220.0, "G-CN", False, "P-N", loads=(BOX,))
    rec.state("T01", 230.0, "G-CN", True, "P-N", loads=(BOX,))
    rec.state("T01", 350.0, "P-N", True, "P-S", loads=(BOX,))  # rolls through P-N
    rec.state("T01", 458.0, "P-S", True, "B0", loads=(BOX,))
    rec.state("T01", 554.0, "B0", True, "PB", loads=(BOX,))
    # T02 northbound enters S4a (B0-PB, single lane) while T01 is still in it
    rec.order("T02", ["PB", "B0"], 500.0)
    rec.state("T02", 500.0, "PB", False, "B0")
    rec.state("T02", 560.0, "PB", True, "B0")
    rec.state("T01", 600.0, "PB", False, "", loads=(BOX,))
    rec.state("T02", 610.0, "B0", False, "")
    rec.state("T01", 9999.0, "PB", True, "G-VN", loads=(BOX,))  # after the end: not read
    return rec


def test_rows_from_a_hand_built_recording() -> None:
    rows = rows_from_records(
        _recording().records, LANE_MAP, CLOCK, {(BOX, "T01"): 150.0}, "CorridorSim", 3600.0
    )
    assert rows.occupancy == [
        ("T01", "CN-YARD", "station", S, 0.0, 180.0),
        ("T01", "Y-CN", "segment", S, 181.0, 199.0),
        ("T01", "CN-GATE-OUT", "station", S, 199.0, 220.0),
        ("T01", "G-CN", "node", S, 199.0, 230.0),
        ("T01", "S1", "segment", S, 230.0, 350.0),
        ("T01", "S2", "segment", S, 350.0, 458.0),
        ("T01", "S3", "segment", S, 458.0, 554.0),
        ("T02", "PB", "node", N, 500.0, 560.0),
        ("T01", "S4a", "segment", S, 554.0, 600.0),
        ("T02", "S4a", "segment", N, 560.0, 610.0),
        ("T01", "PB", "node", S, 600.0, math.inf),  # still standing there at the end
        ("T02", "B0", "node", N, 610.0, math.inf),
    ]
    assert rows.crossings == [(BOX, "T01", S, 150.0, 554.0)]
    assert rows.stale_states == 1
    assert rows.unordered_moves == []


def test_loop_run_directory_is_checked(tmp_path: Path) -> None:
    rows = rows_from_records(_recording().records, LANE_MAP, CLOCK, {}, "CorridorSim", 3600.0)
    run = LoopRun(
        lane_map=LANE_MAP, map_path=MAP_PATH, agreement_path=None,
        epoch=dt.datetime(2027, 3, 2, 6, 0, tzinfo=dt.UTC),
        end_s=3600.0, preset="stress", seed=1, fleet=2, southbound_share=0.55, offered_loads=1,
    )  # fmt: skip
    _, violations = write_loop_run(run, rows, tmp_path)
    rules = sorted(v.rule for v in violations)
    # T02 entered S4a against T01; T01's box crossed with no clearance on record
    assert rules == ["crossing_before_clearance", "opposite_directions"]
    assert "T02 NORTHBOUND 560-610 s" in next(
        v.detail for v in violations if v.rule == "opposite_directions"
    )
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["throughput_per_h"] == {"total": 1.0, "SOUTHBOUND": 1.0, "NORTHBOUND": 0.0}
    assert saved["conflicts"] == 2 and saved["loaded_trips"] == 1
    assert saved["stations"]["CN-YARD"]["served"] == 1
    for name in ("occupancy.csv", "crossings.csv", "scenario.json", "map.yaml"):
        assert (tmp_path / name).exists()
    assert (tmp_path / "occupancy.csv").read_text().splitlines()[1:3] == [
        "T01,CN-YARD,station,SOUTHBOUND,0.000,180.000",
        "T01,Y-CN,segment,SOUTHBOUND,181.000,199.000",
    ]


def test_a_truck_that_turns_back_at_a_stop_line_leaves_the_segment() -> None:
    # T03 drives from Z-VN onto S5, waits at its stop line before G-VN, and turns back
    rec = Recording()
    payload_edges = [
        {"edgeId": "S5:1:Z-VN>S5:stop:G-VN", "startNodeId": "Z-VN", "endNodeId": "S5:stop:G-VN"},
        {"edgeId": "S5:2:S5:stop:G-VN>G-VN", "startNodeId": "S5:stop:G-VN", "endNodeId": "G-VN"},
    ]
    nodes = [{"nodeId": n} for n in ("Z-VN", "S5:stop:G-VN", "G-VN")]
    rec._add("T03", "order", {"orderId": "T03-o", "nodes": nodes, "edges": payload_edges}, 0.0)
    rec.state("T03", 0.0, "Z-VN", False, "S5:stop:G-VN")
    rec.state("T03", 10.0, "Z-VN", True, "G-VN")
    rec.state("T03", 60.0, "S5:stop:G-VN", False, "G-VN")
    back = [
        {"edgeId": "S5:1:S5:stop:G-VN>Z-VN", "startNodeId": "S5:stop:G-VN", "endNodeId": "Z-VN"}
    ]
    nodes = [{"nodeId": n} for n in ("S5:stop:G-VN", "Z-VN")]
    rec._add("T03", "order", {"orderId": "T03-b", "nodes": nodes, "edges": back}, 90.0)
    rec.state("T03", 95.0, "S5:stop:G-VN", True, "Z-VN")
    rec.state("T03", 150.0, "Z-VN", False, "")
    rows = rows_from_records(rec.records, LANE_MAP, CLOCK, {}, "CorridorSim", 3600.0)
    assert rows.occupancy == [
        ("T03", "S5", "segment", N, 10.0, 150.0),  # out, in its lane, until back
        ("T03", "S5", "segment", S, 60.0, 150.0),  # back, from the stop line on
    ]
    assert rows.unordered_moves == []
