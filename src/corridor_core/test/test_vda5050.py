"""VDA 5050 v2.0 codec: topics, headers, orders and state parsing."""

import json
from pathlib import Path

import pytest

from corridor_core.errors import ProtocolError
from corridor_core.map_io import load_map
from corridor_core.vda5050 import (
    HeaderStamper,
    build_order,
    check_order,
    parse_connection,
    parse_state,
    parse_topic,
    timestamp,
    topic,
)

MAP = Path(__file__).resolve().parents[3] / "maps" / "tan-thanh-puzhai-2027.yaml"


def _order(released_legs=None):
    lane_map = load_map(MAP)
    legs = lane_map.route("Z-CN", "Z-VN")
    body = build_order(lane_map, legs, "R-1.1", 0, "Z-CN", released_legs)
    return HeaderStamper("M").stamp("T01", "order", body, 0.0)


def test_topics_round_trip() -> None:
    assert topic("M", "T01", "order") == "uagv/v2/M/T01/order"
    assert parse_topic("uagv/v2/M/T01/state") == ("M", "T01", "state")
    for bad in ("uagv/v2/M/state", "vda/v2/M/T/state", "uagv/v2/M/T/bogus"):
        with pytest.raises(ProtocolError):
            parse_topic(bad)


def test_header_ids_count_per_topic_and_timestamp_is_iso_utc_ms() -> None:
    stamper = HeaderStamper("M")
    ids = [stamper.stamp("T01", "order", {}, 0.0)["headerId"] for _ in range(3)]
    assert ids == [0, 1, 2]
    assert stamper.stamp("T01", "instantActions", {}, 0.0)["headerId"] == 0
    assert timestamp(1.25) == "1970-01-01T00:00:01.250Z"


def test_built_orders_pass_the_order_rules() -> None:
    order = _order()
    assert check_order(order) == []
    assert [n["sequenceId"] for n in order["nodes"]] == [0, 2, 4, 6, 8, 10, 12, 14]
    assert [e["sequenceId"] for e in order["edges"]] == [1, 3, 5, 7, 9, 11, 13]
    partial = _order(released_legs=3)
    assert check_order(partial) == []
    assert [n["released"] for n in partial["nodes"]] == [True] * 4 + [False] * 4


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda o: o.pop("orderId"), "orderId must be str"),
        (lambda o: o["edges"].pop(), "exactly one edge fewer than nodes"),
        (lambda o: o["nodes"][1].update(sequenceId=3), "nodes[1].sequenceId must be 2"),
        (
            lambda o: o["nodes"][2].update(released=False),
            "nodes[3] is released after an unreleased",
        ),
        (lambda o: o["edges"][0].update(startNodeId="B0"), "edges[0].startNodeId must be 'Z-CN'"),
        (lambda o: o.pop("headerId"), "header field headerId is missing"),
    ],
)
def test_order_rule_violations_are_reported(mutate, problem: str) -> None:
    order = _order()
    mutate(order)
    assert any(problem in p for p in check_order(order)), check_order(order)


def _state(**changes):
    body = {
        "orderId": "R-1.1",
        "orderUpdateId": 0,
        "lastNodeId": "B0",
        "lastNodeSequenceId": 8,
        "nodeStates": [{"nodeId": "PB", "sequenceId": 10, "released": True}],
        "edgeStates": [],
        "driving": True,
        "actionStates": [],
        "batteryState": {"batteryCharge": 80.0},
        "operatingMode": "AUTOMATIC",
        "errors": [],
        "agvPosition": {"x": 2450.0, "y": 0.0},
    }
    msg = HeaderStamper("M").stamp("T01", "state", body, 0.0)
    msg.update(changes)
    return json.dumps(msg).encode()


def test_state_parses() -> None:
    report = parse_state(_state())
    assert (report.serial, report.last_node_id, report.pending_node_ids) == ("T01", "B0", ("PB",))
    assert report.battery_charge_pct == 80.0 and report.x_m == 2450.0


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (_state(driving="yes"), "driving must be bool"),
        (_state(batteryState={"batteryCharge": "full"}), "batteryCharge must be a number"),
        (_state(headerId=-1), "headerId must be >= 0"),
        (_state(nodeStates=[{"sequenceId": 1}]), "nodeStates[0].nodeId must be str"),
    ],
)
def test_malformed_states_raise_protocol_errors(payload: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_state(payload)


def test_connection_parses_and_rejects_unknown_states() -> None:
    ok = HeaderStamper("M").stamp("T01", "connection", {"connectionState": "ONLINE"}, 0.0)
    assert parse_connection(json.dumps(ok).encode()) == ("T01", "ONLINE")
    ok["connectionState"] = "ASLEEP"
    with pytest.raises(ProtocolError, match="connectionState"):
        parse_connection(json.dumps(ok).encode())
