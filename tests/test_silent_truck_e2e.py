"""End to end: a truck that drops off the network inside a single-lane block keeps that block.

The whole stack in separate processes (real broker, OPC UA server, ROS nodes, emulated trucks)
runs the stress workload at x50 while several trucks drop their TCP connection without a word
(``--fault SERIAL:disconnect@T``: the broker publishes their last will, and the emulated truck
goes on driving what it was released, as a real one would). From the recording of every
message on the broker: for each truck gone silent, the single-lane segments of its released
base ahead of its last reported node; no order or order update to another truck afterwards may
release one of those segments in the opposite direction.

This is the acceptance check over the real stack. The defect it guards against (a truck whose
last state said "standing at PB" taken out while it drove on through S4b) needs a timing this
run does not force; it is pinned in-process by
``src/corridor_core/test/test_fleet_controller.py::test_a_silent_truck_keeps_its_released_base_no_head_on``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from corridor_core.interlock.stop_lines import with_stop_lines
from corridor_core.map_io import load_map
from corridor_links.recorder import read_records

from .corridor_cli import run_corridor

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
# the controller's view of the map: orders name stop lines in two-way segments
MAP = with_stop_lines(load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"))
SINGLE = {s.segment_id for s in MAP.segments if s.lane_mode.value == "single_alternating"}
SEGMENT = {frozenset((s.from_node, s.to_node)): s.segment_id for s in MAP.segments}
FAULTS = {"T01": 420, "T02": 520, "T03": 620, "T23": 470, "T24": 570, "T25": 670}


def _south(a: str, b: str) -> bool:
    return MAP.node(b).x_m > MAP.node(a).x_m


def test_no_opposite_release_into_a_block_a_silent_truck_may_be_in(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    done = run_corridor(
        "run", "--preset", "stress", "--minutes", "16", "--seed", "5",
        "--record", str(rec), "--run-dir", str(tmp_path / "run"),
        *[a for serial, t in FAULTS.items() for a in ("--fault", f"{serial}:disconnect@{t}")],
    )  # fmt: skip
    records = read_records(rec / "mqtt.jsonl")
    released: dict[str, dict[int, str]] = {}  # truck -> sequenceId -> node of its order
    order_of: dict[str, str] = {}
    last_node: dict[str, tuple[str, int]] = {}
    gone: dict[str, tuple[float, set[tuple[str, bool]]]] = {}  # truck -> (t, held (seg, south))
    violations, held_any = [], False
    for r in records:
        parts = r["topic"].split("/")
        if len(parts) < 5:
            continue
        serial, name = parts[3], parts[4]
        body = r["payload"]
        if not isinstance(body, dict):
            try:
                body = json.loads(body)
            except (TypeError, ValueError):
                continue
        if name == "state":
            last_node[serial] = (body["lastNodeId"], body["lastNodeSequenceId"])
        elif name == "connection" and body.get("connectionState") == "CONNECTIONBROKEN":
            if serial in gone or serial not in FAULTS:
                continue
            _, seq = last_node.get(serial, ("", 0))
            nodes = released.get(serial, {})
            path = [nodes[k] for k in sorted(nodes) if k >= seq]
            held = {
                (SEGMENT[frozenset((a, b))], _south(a, b))
                for a, b in itertools.pairwise(path)
                if SEGMENT[frozenset((a, b))] in SINGLE
            }
            held_any = held_any or bool(held)
            gone[serial] = (r["t"], held)
        elif name == "order":
            if body["orderId"] != order_of.get(serial):
                order_of[serial], released[serial] = body["orderId"], {}
            for n in body["nodes"]:
                if n["released"]:
                    released[serial][n["sequenceId"]] = n["nodeId"]
            for e in body["edges"]:
                if not e["released"]:
                    continue
                seg = SEGMENT[frozenset((e["startNodeId"], e["endNodeId"]))]
                south = _south(e["startNodeId"], e["endNodeId"])
                for other, (t, held) in gone.items():
                    if other != serial and (seg, not south) in held and r["t"] > t:
                        violations.append(f"{serial} released into {seg} against silent {other}")
    assert set(gone) == set(FAULTS), (sorted(gone), done.stdout[-2000:])
    assert held_any, f"no silent truck was inside a block: {gone}"
    assert not violations, violations
