"""VDA 5050 v2.0 wire format: topics, headers, orders, and parsing of state and connection.

Pure codec: builds and checks the JSON documents; sending them is the MQTT adapter's job.
Topics are ``uagv/v2/<manufacturer>/<serialNumber>/<topic>``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corridor_core.errors import ProtocolError
from corridor_core.lane_map import LaneMap, RouteLeg

INTERFACE = "uagv"
MAJOR_VERSION = "v2"
VERSION = "2.0.0"
TOPICS = ("order", "instantActions", "state", "connection", "factsheet", "visualization")
CONNECTION_STATES = ("ONLINE", "OFFLINE", "CONNECTIONBROKEN")
OPERATING_MODES = (
    "AUTOMATIC",
    "SEMIAUTOMATIC",
    "MANUAL",
    "SERVICE",
    "TEACHIN",
)


def topic(manufacturer: str, serial: str, name: str) -> str:
    """The MQTT topic of one VDA 5050 message kind for one vehicle."""
    return f"{INTERFACE}/{MAJOR_VERSION}/{manufacturer}/{serial}/{name}"


def parse_topic(mqtt_topic: str) -> tuple[str, str, str]:
    """Split a topic into (manufacturer, serialNumber, topic name).

    Raises:
        ProtocolError: when the topic is not of the VDA 5050 v2 form.
    """
    parts = mqtt_topic.split("/")
    if len(parts) != 5 or parts[0] != INTERFACE or parts[1] != MAJOR_VERSION:
        raise ProtocolError(f"topic {mqtt_topic!r} is not uagv/v2/<manufacturer>/<serial>/<topic>")
    if parts[4] not in TOPICS:
        raise ProtocolError(f"topic {mqtt_topic!r} names unknown message kind {parts[4]!r}")
    return parts[2], parts[3], parts[4]


def timestamp(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2027-03-01T11:30:00.250Z``."""
    moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class HeaderStamper:
    """Adds the VDA 5050 header; ``headerId`` counts up per topic from 0."""

    manufacturer: str
    _next_ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def stamp(self, serial: str, name: str, body: dict[str, Any], epoch_s: float) -> dict[str, Any]:
        """Return ``body`` with a full header for message kind ``name`` to/from ``serial``."""
        key = f"{serial}/{name}"
        header_id = self._next_ids[key]
        self._next_ids[key] = header_id + 1
        return {
            "headerId": header_id,
            "timestamp": timestamp(epoch_s),
            "version": VERSION,
            "manufacturer": self.manufacturer,
            "serialNumber": serial,
            **body,
        }


def build_order(
    lane_map: LaneMap,
    legs: Sequence[RouteLeg],
    order_id: str,
    order_update_id: int,
    start_node: str,
    released_legs: int | None = None,
    first_sequence_id: int = 0,
    node_actions: Mapping[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The body of an order (no header) that drives ``legs`` from ``start_node``.

    Nodes take even sequenceIds and edges odd ones, counting from ``first_sequence_id`` (an
    order update starts at its stitching node's sequenceId). The first ``released_legs`` legs
    and their nodes form the released base; the rest is the horizon. None releases the whole
    route. ``node_actions`` maps a node's position in this body (0 = start) to its actions.
    """
    released_count = len(legs) if released_legs is None else released_legs
    actions = node_actions or {}
    seq0 = first_sequence_id
    nodes = [_order_node(lane_map, start_node, seq0, True, actions.get(0, []))]
    edges = []
    for i, leg in enumerate(legs):
        released = i < released_count
        edges.append(
            {
                "edgeId": f"{leg.segment.segment_id}:{leg.start_node}>{leg.end_node}",
                "sequenceId": seq0 + 2 * i + 1,
                "released": released,
                "startNodeId": leg.start_node,
                "endNodeId": leg.end_node,
                "maxSpeed": round(leg.segment.speed_limit_mps, 3),
                "length": leg.segment.length_m,
                "actions": [],
            }
        )
        nodes.append(
            _order_node(lane_map, leg.end_node, seq0 + 2 * i + 2, released, actions.get(i + 1, []))
        )
    return {
        "orderId": order_id,
        "orderUpdateId": order_update_id,
        "nodes": nodes,
        "edges": edges,
    }


def _order_node(
    lane_map: LaneMap,
    node_id: str,
    sequence_id: int,
    released: bool,
    actions: list[dict[str, Any]],
) -> dict[str, Any]:
    node = lane_map.node(node_id)
    return {
        "nodeId": node_id,
        "sequenceId": sequence_id,
        "released": released,
        "nodePosition": {"x": node.x_m, "y": node.y_m, "mapId": lane_map.name},
        "actions": list(actions),
    }


HEADER_FIELDS = {
    "headerId": int,
    "timestamp": str,
    "version": str,
    "manufacturer": str,
    "serialNumber": str,
}


def check_header(msg: dict[str, Any]) -> list[str]:
    """Problems with a message's header fields; empty when it is valid."""
    problems = []
    for key, kind in HEADER_FIELDS.items():
        if key not in msg:
            problems.append(f"header field {key} is missing")
        elif not isinstance(msg[key], kind) or isinstance(msg[key], bool):
            problems.append(f"header field {key} must be {kind.__name__}")
    if isinstance(msg.get("headerId"), int) and msg["headerId"] < 0:
        problems.append("headerId must be >= 0")
    return problems


NODE_FIELDS: tuple[tuple[str, type], ...] = (
    ("nodeId", str),
    ("sequenceId", int),
    ("released", bool),
    ("actions", list),
)
EDGE_FIELDS: tuple[tuple[str, type], ...] = (
    ("edgeId", str),
    ("sequenceId", int),
    ("released", bool),
    ("startNodeId", str),
    ("endNodeId", str),
    ("actions", list),
)


def _check_fields(
    obj: dict[str, Any], fields: tuple[tuple[str, type], ...], where: str
) -> list[str]:
    problems = []
    for key, kind in fields:
        value = obj.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"{where}.{key} must be {kind.__name__}")
    return problems


def check_order(msg: dict[str, Any]) -> list[str]:
    """Problems with an order against the v2.0 rules; empty when it is valid."""
    problems = check_header(msg)
    for key, kind in (("orderId", str), ("orderUpdateId", int), ("nodes", list), ("edges", list)):
        if not isinstance(msg.get(key), kind):
            problems.append(f"{key} must be {kind.__name__}")
    if problems:
        return problems
    nodes, edges = msg["nodes"], msg["edges"]
    if not nodes:
        return ["an order needs at least one node"]
    if len(edges) != len(nodes) - 1:
        problems.append("an order needs exactly one edge fewer than nodes")
    # An update starts at its stitching node, whose sequenceId is that of the last base node.
    first = nodes[0].get("sequenceId") if isinstance(nodes[0], dict) else 0
    seq0 = first if isinstance(first, int) and first >= 0 and first % 2 == 0 else 0
    seen_unreleased = False
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(node, dict):
            problems.append(f"{where} must be an object")
            continue
        problems += _check_fields(node, NODE_FIELDS, where)
        if node.get("sequenceId") != seq0 + 2 * i:
            problems.append(f"{where}.sequenceId must be {seq0 + 2 * i}")
        if node.get("released") is False:
            seen_unreleased = True
        elif seen_unreleased:
            problems.append(f"{where} is released after an unreleased node")
    for i, edge in enumerate(edges):
        where = f"edges[{i}]"
        if not isinstance(edge, dict):
            problems.append(f"{where} must be an object")
            continue
        problems += _check_fields(edge, EDGE_FIELDS, where)
        if edge.get("sequenceId") != seq0 + 2 * i + 1:
            problems.append(f"{where}.sequenceId must be {seq0 + 2 * i + 1}")
        if i + 1 < len(nodes) and isinstance(nodes[i], dict) and isinstance(nodes[i + 1], dict):
            if edge.get("startNodeId") != nodes[i].get("nodeId"):
                problems.append(f"{where}.startNodeId must be {nodes[i].get('nodeId')!r}")
            if edge.get("endNodeId") != nodes[i + 1].get("nodeId"):
                problems.append(f"{where}.endNodeId must be {nodes[i + 1].get('nodeId')!r}")
            if edge.get("released") and not (
                nodes[i].get("released") and nodes[i + 1].get("released")
            ):
                problems.append(f"{where} is released but one of its end nodes is not")
    return problems


@dataclass(frozen=True)
class StateReport:
    """What a vehicle said in one ``state`` message."""

    manufacturer: str
    serial: str
    header_id: int
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    pending_node_ids: tuple[str, ...]
    driving: bool
    battery_charge_pct: float
    x_m: float
    y_m: float
    operating_mode: str
    errors: tuple[str, ...]
    action_states: tuple[tuple[str, str], ...] = ()  # (actionId, actionStatus)
    error_levels: tuple[tuple[str, str], ...] = ()  # (errorType, errorLevel)
    paused: bool = False


def decode_json(payload: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object payload.

    Raises:
        ProtocolError: naming ``what`` when the payload is not a JSON object.
    """
    try:
        msg = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{what}: payload is not valid JSON ({exc})") from exc
    if not isinstance(msg, dict):
        raise ProtocolError(f"{what}: payload must be a JSON object")
    return msg


def _require(msg: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = msg.get(key)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ProtocolError(f"{what}: field {key} must be {kind.__name__}")
    return value


def parse_state(payload: bytes, what: str = "state") -> StateReport:
    """Decode and check a ``state`` message.

    Raises:
        ProtocolError: naming the first field that breaks the v2.0 rules.
    """
    msg = decode_json(payload, what)
    problems = check_header(msg)
    if problems:
        raise ProtocolError(f"{what}: {problems[0]}")
    node_states = _require(msg, "nodeStates", list, what)
    _require(msg, "edgeStates", list, what)
    battery = _require(msg, "batteryState", dict, what)
    charge = battery.get("batteryCharge")
    if not isinstance(charge, int | float) or isinstance(charge, bool) or not math.isfinite(charge):
        raise ProtocolError(f"{what}: field batteryState.batteryCharge must be a number")
    errors = _require(msg, "errors", list, what)
    actions = _require(msg, "actionStates", list, what)
    position = msg.get("agvPosition") or {}
    if not isinstance(position, dict):
        raise ProtocolError(f"{what}: field agvPosition must be an object")
    pending = []
    for i, node_state in enumerate(node_states):
        if not isinstance(node_state, dict) or not isinstance(node_state.get("nodeId"), str):
            raise ProtocolError(f"{what}: nodeStates[{i}].nodeId must be str")
        pending.append(node_state["nodeId"])
    return StateReport(
        manufacturer=msg["manufacturer"],
        serial=msg["serialNumber"],
        header_id=msg["headerId"],
        order_id=_require(msg, "orderId", str, what),
        order_update_id=_require(msg, "orderUpdateId", int, what),
        last_node_id=_require(msg, "lastNodeId", str, what),
        last_node_sequence_id=_require(msg, "lastNodeSequenceId", int, what),
        pending_node_ids=tuple(pending),
        driving=_require(msg, "driving", bool, what),
        battery_charge_pct=float(charge),
        x_m=float(position.get("x", 0.0)),
        y_m=float(position.get("y", 0.0)),
        operating_mode=_require(msg, "operatingMode", str, what),
        errors=tuple(
            f"{e.get('errorType', '?')}: {e.get('errorDescription', '')}"
            for e in errors
            if isinstance(e, dict)
        ),
        action_states=tuple(
            (str(a.get("actionId", "")), str(a.get("actionStatus", "")))
            for a in actions
            if isinstance(a, dict)
        ),
        error_levels=tuple(
            (str(e.get("errorType", "")), str(e.get("errorLevel", "")))
            for e in errors
            if isinstance(e, dict)
        ),
        paused=msg.get("paused") is True,
    )


def parse_connection(payload: bytes, what: str = "connection") -> tuple[str, str]:
    """Decode a ``connection`` message into (serialNumber, connectionState).

    Raises:
        ProtocolError: when the header or the state is invalid.
    """
    msg = decode_json(payload, what)
    problems = check_header(msg)
    if problems:
        raise ProtocolError(f"{what}: {problems[0]}")
    state = msg.get("connectionState")
    if state not in CONNECTION_STATES:
        raise ProtocolError(
            f"{what}: connectionState must be one of {', '.join(CONNECTION_STATES)}"
        )
    return msg["serialNumber"], str(state)
