"""Hostile input to the VDA 5050 decoders: a ProtocolError, never another exception.

``parse_state`` runs on paho's network thread for every message any truck publishes. Anything
else it raised (ValueError from ``float("abc")``, OverflowError from a 400-digit integer,
RecursionError from deep nesting, TypeError from a list) used to end that thread's receive loop.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor_core.errors import ProtocolError
from corridor_core.untrusted_json import MAX_DEPTH, MAX_PAYLOAD_BYTES, load_object, nesting_depth
from corridor_core.vda5050 import HeaderStamper, parse_connection, parse_state


def _body() -> dict[str, Any]:
    return {
        "orderId": "R-1.1",
        "orderUpdateId": 0,
        "lastNodeId": "B0",
        "lastNodeSequenceId": 8,
        "nodeStates": [{"nodeId": "PB", "sequenceId": 10, "released": True}],
        "edgeStates": [],
        "driving": True,
        "paused": False,
        "actionStates": [
            {"actionId": "w1", "actionType": "waitForTrigger", "actionStatus": "WAITING"}
        ],
        "batteryState": {"batteryCharge": 80.0, "charging": False},
        "operatingMode": "AUTOMATIC",
        "errors": [{"errorType": "noRoute", "errorLevel": "WARNING", "errorDescription": "x"}],
        "agvPosition": {"x": 2450.0, "y": 0.0, "theta": 0.0, "mapId": "m"},
    }


def _msg() -> dict[str, Any]:
    return HeaderStamper("M").stamp("T01", "state", _body(), 0.0)


def _msg_with(path: str, value: Any) -> dict[str, Any]:
    """A valid state with the field at dotted ``path`` (list index as a number) set."""
    msg = _msg()
    *parents, last = path.split(".")
    target: Any = msg
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return msg


def _with(path: str, value: Any) -> bytes:
    return json.dumps(_msg_with(path, value)).encode()


def _without(path: str) -> bytes:
    msg = _msg()
    *parents, last = path.split(".")
    target: Any = msg
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    del target[last]
    return json.dumps(msg).encode()


def _raw(text: str) -> bytes:
    """A valid state with the literal ``"x": 2450.0`` replaced by ``text`` (non-JSON values)."""
    payload = json.dumps(_msg()).encode()
    assert b'"x": 2450.0' in payload
    return payload.replace(b'"x": 2450.0', text.encode())


BIG = int("9" * 400)
DEEP_LIST = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000

HOSTILE: dict[str, tuple[bytes, str]] = {
    # agvPosition.x, the field of the report
    "x is a string": (_with("agvPosition.x", "abc"), "agvPosition.x must be a number"),
    "x is a list": (_with("agvPosition.x", [1.0]), "agvPosition.x must be a number"),
    "x is an object": (_with("agvPosition.x", {"v": 1}), "agvPosition.x must be a number"),
    "x is null": (_with("agvPosition.x", None), "agvPosition.x must be a number"),
    "x is a bool": (_with("agvPosition.x", True), "agvPosition.x must be a number"),
    "x has 400 digits": (_with("agvPosition.x", BIG), "agvPosition.x must be within"),
    "x is -400 digits": (_with("agvPosition.x", -BIG), "agvPosition.x must be within"),
    "x is 1e308": (_with("agvPosition.x", 1e308), "agvPosition.x must be within"),
    "x is NaN": (_raw('"x": NaN'), "NaN is not a JSON number"),
    "x is Infinity": (_raw('"x": Infinity'), "Infinity is not a JSON number"),
    "x is -Infinity": (_raw('"x": -Infinity'), "-Infinity is not a JSON number"),
    "x is 1e999 (inf)": (_raw('"x": 1e999'), "agvPosition.x must be a finite number"),
    "x has 5,000 digits": (_raw('"x": ' + "9" * 5000), "not valid JSON"),
    "x is missing": (_without("agvPosition.x"), "agvPosition.x must be a number (got nothing)"),
    "agvPosition is a list": (_with("agvPosition", [1, 2]), "agvPosition must be an object"),
    "agvPosition is null": (_with("agvPosition", None), "agvPosition must be an object"),
    # nesting and size
    "10,000 nested lists": (DEEP_LIST, f"deeper than {MAX_DEPTH}"),
    "10,000 nested objects": (DEEP_OBJECT, f"deeper than {MAX_DEPTH}"),
    "500 nested lists in an unread field": (
        _with("information", json.loads("[" * 500 + "]" * 500)),
        f"deeper than {MAX_DEPTH}",
    ),
    "a megabyte of padding": (_with("padding", "x" * 1_000_000), "exceeds"),
    "a million nodeStates": (b"[" + b"{}," * 400_000 + b"{}]", "exceeds"),
    "1,001 nodeStates": (
        _with("nodeStates", [{"nodeId": "N"}] * 1001),
        "nodeStates must have at most 1000 items",
    ),
    # not a JSON object
    "empty payload": (b"", "not valid JSON"),
    "not JSON": (b"{not json", "not valid JSON"),
    "not UTF-8": (b'{"orderId": "\xff\xfe"}', "not valid JSON"),
    "root is a list": (b"[1, 2, 3]", "must be a JSON object"),
    "root is a string": (b'"state"', "must be a JSON object"),
    "root is a number": (b"42", "must be a JSON object"),
    "root is null": (b"null", "must be a JSON object"),
    "truncated": (json.dumps(_msg()).encode()[:-5], "not valid JSON"),
    # header
    "headerId is negative": (_with("headerId", -1), "headerId must be >= 0"),
    "headerId beyond uint32": (_with("headerId", 2**32), "headerId must be <= 4294967295"),
    "headerId of 400 digits": (_with("headerId", BIG), "headerId must be <= 4294967295"),
    "headerId is a float": (_with("headerId", 1.5), "headerId must be int"),
    "headerId is a bool": (_with("headerId", True), "headerId must be int"),
    "headerId is missing": (_without("headerId"), "headerId must be int (got nothing)"),
    "serialNumber is a list": (_with("serialNumber", ["T01"]), "serialNumber must be str"),
    "manufacturer is 10,000 chars": (_with("manufacturer", "M" * 10_000), "at most 1024"),
    "timestamp is a number": (_with("timestamp", 0), "timestamp must be str"),
    # every other field the report takes
    "orderId is a number": (_with("orderId", 7), "orderId must be str"),
    "orderUpdateId is a string": (_with("orderUpdateId", "0"), "orderUpdateId must be int"),
    "orderUpdateId of 400 digits": (_with("orderUpdateId", BIG), "orderUpdateId must be <="),
    "lastNodeId is null": (_with("lastNodeId", None), "lastNodeId must be str"),
    "lastNodeSequenceId is -1": (_with("lastNodeSequenceId", -1), "lastNodeSequenceId must be >= 0"),
    "driving is a string": (_with("driving", "yes"), "driving must be bool"),
    "driving is 1": (_with("driving", 1), "driving must be bool"),
    "paused is a string": (_with("paused", "no"), "paused must be bool"),
    "operatingMode is unknown": (_with("operatingMode", "HACKED"), "operatingMode must be one of"),
    "operatingMode is a list": (_with("operatingMode", ["AUTOMATIC"]), "operatingMode must be str"),
    "batteryState is a number": (_with("batteryState", 80), "batteryState must be an object"),
    "batteryCharge is a string": (
        _with("batteryState.batteryCharge", "full"),
        "batteryCharge must be a number",
    ),
    "batteryCharge of 400 digits": (
        _with("batteryState.batteryCharge", BIG),
        "batteryCharge must be within [0, 100]",
    ),
    "batteryCharge is 101": (_with("batteryState.batteryCharge", 101), "must be within [0, 100]"),
    "nodeStates is an object": (_with("nodeStates", {"0": {}}), "nodeStates must be an array"),
    "nodeStates item is a string": (_with("nodeStates.0", "PB"), "nodeStates[0] must be an object"),
    "nodeId is missing": (_with("nodeStates.0", {"sequenceId": 1}), "nodeStates[0].nodeId must be str"),
    "nodeId is a list": (_with("nodeStates.0.nodeId", ["PB"]), "nodeStates[0].nodeId must be str"),
    "edgeStates is null": (_with("edgeStates", None), "edgeStates must be an array"),
    "errors is a string": (_with("errors", "none"), "errors must be an array"),
    "errors item is a string": (_with("errors.0", "boom"), "errors[0] must be an object"),
    "errorType is an object": (_with("errors.0.errorType", {"a": 1}), "errors[0].errorType must be str"),
    "errorLevel is unknown": (_with("errors.0.errorLevel", "CRITICAL"), "errorLevel must be one of"),
    "errorDescription is a number": (
        _with("errors.0.errorDescription", 3),
        "errors[0].errorDescription must be str",
    ),
    "actionStates item is a number": (_with("actionStates.0", 1), "actionStates[0] must be an object"),
    "actionId is a list": (_with("actionStates.0.actionId", ["x"]), "actionStates[0].actionId must be str"),
    "actionStatus is unknown": (
        _with("actionStates.0.actionStatus", "DONE"),
        "actionStates[0].actionStatus must be one of",
    ),
}  # fmt: skip


def test_the_corpus_starts_from_a_valid_state() -> None:
    report = parse_state(json.dumps(_msg()).encode())
    assert (report.x_m, report.error_levels, report.action_states) == (
        2450.0,
        (("noRoute", "WARNING"),),
        (("w1", "WAITING"),),
    )


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_states_raise_only_protocol_errors(name: str) -> None:
    payload, rule = HOSTILE[name]
    with pytest.raises(ProtocolError) as raised:
        parse_state(payload, "state from T01")
    text = str(raised.value)
    assert text.startswith("state from T01: ") and rule in text, text
    assert len(text) < 600, "the error must not echo the payload"


@pytest.mark.parametrize(
    "payload",
    [DEEP_LIST, DEEP_OBJECT, b"[]", b"\x00" * 10, b'{"connectionState": ["ONLINE"]}'],
)
def test_hostile_connections_raise_only_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_connection(payload)


def test_the_bounds_hold_at_their_edges() -> None:
    exactly = b'{"a": "' + b"x" * (MAX_PAYLOAD_BYTES - 10) + b'"}'
    assert len(exactly) == MAX_PAYLOAD_BYTES - 1
    assert load_object(exactly, "m")["a"].startswith("x")
    deep_ok = b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    load_object(deep_ok, "m")
    deep_bad = b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    with pytest.raises(ProtocolError, match="deeper than"):
        load_object(deep_bad, "m")
    with pytest.raises(ProtocolError, match="must be bytes"):
        load_object("{}", "m")  # type: ignore[arg-type]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "headerId", "timestamp", "version", "manufacturer", "serialNumber", "orderId",
    "orderUpdateId", "lastNodeId", "lastNodeSequenceId", "nodeStates", "nodeStates.0",
    "nodeStates.0.nodeId", "edgeStates", "driving", "paused", "actionStates", "actionStates.0",
    "actionStates.0.actionId", "actionStates.0.actionStatus", "batteryState",
    "batteryState.batteryCharge", "operatingMode", "errors", "errors.0", "errors.0.errorType",
    "errors.0.errorLevel", "errors.0.errorDescription", "agvPosition", "agvPosition.x",
    "agvPosition.y",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_any_value_in_any_field_parses_or_raises_a_protocol_error(field: str, value: Any) -> None:
    payload = json.dumps(_msg_with(field, value), allow_nan=True).encode()
    try:
        report = parse_state(payload)
    except ProtocolError:
        return
    assert isinstance(report.x_m, float) and isinstance(report.battery_charge_pct, float)
    assert isinstance(report.header_id, int) and 0 <= report.header_id < 2**32


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200))
def test_any_bytes_parse_or_raise_a_protocol_error(payload: bytes) -> None:
    for parse in (parse_state, parse_connection):
        with contextlib.suppress(ProtocolError):
            parse(payload)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\n', max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.integers() | TRICKY_TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
        max_leaves=30,
    ),
    ascii_only=st.booleans(),
)
def test_nesting_depth_is_exact_for_valid_json(value: Any, ascii_only: bool) -> None:
    payload = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(payload, 100) == _depth(value)
    assert nesting_depth(payload, 2) == min(_depth(value), 3)
