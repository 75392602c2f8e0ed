"""VDA 5050 v2.0 wire format: topics, headers, orders, and parsing of state and connection.

Pure codec: builds and checks the JSON documents; sending them is the MQTT adapter's job.
Topics are ``uagv/v2/<manufacturer>/<serialNumber>/<topic>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corridor_core.errors import ProtocolError
from corridor_core.lane_map import LaneMap, RouteLeg
from corridor_core.untrusted_json import UINT32_MAX, Fields, load_object

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
    if isinstance(msg.get("headerId"), int) and not 0 <= msg["headerId"] <= UINT32_MAX:
        problems.append(f"headerId must be >= 0 and <= {UINT32_MAX}")
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
    information_types: tuple[str, ...] = ()  # infoType of each ``information`` entry


# ``information`` types a truck reports while it works at a station of its node (queued for a
# server, or served): it is not ready to leave. Trucks that do not report them count as ready.
STATION_WORK_INFO = ("STATION_QUEUE", "STATION_SERVICE")
ACTION_STATUSES = ("WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED")
ERROR_LEVELS = ("WARNING", "FATAL")
MAX_COORDINATE_M = 1.0e7  # |x|, |y| of agvPosition: 10,000 km from the map origin


def decode_json(payload: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object payload within the bounds of :func:`untrusted_json.load_object`.

    Raises:
        ProtocolError: naming ``what`` when the payload is not a JSON object within the bounds.
    """
    return load_object(payload, what)


def _header(msg: Fields) -> tuple[int, str, str]:
    """(headerId, manufacturer, serialNumber) after checking every header field."""
    header_id = msg.integer("headerId")
    msg.text("timestamp")
    msg.text("version")
    return header_id, msg.text("manufacturer"), msg.text("serialNumber")


def parse_state(payload: bytes, what: str = "state") -> StateReport:
    """Decode and check a ``state`` message from an untrusted truck.

    Every field read is checked for type and range: ids and counters are uint32, strings are
    at most :data:`untrusted_json.MAX_TEXT_CHARS` long, enums take their v2.0 values, numbers
    are finite (batteryCharge 0..100, positions within :data:`MAX_COORDINATE_M`). Fields this
    parser does not read are only bounded by size and nesting depth.

    Raises:
        ProtocolError: naming the first field that breaks a rule; never any other exception.
    """
    msg = Fields(load_object(payload, what), what)
    header_id, manufacturer, serial = _header(msg)
    pending = msg.texts("nodeStates", "nodeId")
    msg.array("edgeStates")
    charge = msg.child("batteryState").number("batteryCharge", low=0.0, high=100.0)
    x_m = y_m = 0.0
    if msg.has("agvPosition"):
        position = msg.child("agvPosition")
        x_m = position.number("x", low=-MAX_COORDINATE_M, high=MAX_COORDINATE_M)
        y_m = position.number("y", low=-MAX_COORDINATE_M, high=MAX_COORDINATE_M)
    errors = [
        (e.text("errorType"), e.text("errorLevel", choices=ERROR_LEVELS),
         e.text("errorDescription", default=""))
        for e in msg.children("errors")
    ]  # fmt: skip
    actions = tuple(
        (a.text("actionId"), a.text("actionStatus", choices=ACTION_STATUSES))
        for a in msg.children("actionStates")
    )
    return StateReport(
        manufacturer=manufacturer,
        serial=serial,
        header_id=header_id,
        order_id=msg.text("orderId"),
        order_update_id=msg.integer("orderUpdateId"),
        last_node_id=msg.text("lastNodeId"),
        last_node_sequence_id=msg.integer("lastNodeSequenceId"),
        pending_node_ids=pending,
        driving=msg.flag("driving"),
        battery_charge_pct=charge,
        x_m=x_m,
        y_m=y_m,
        operating_mode=msg.text("operatingMode", choices=OPERATING_MODES),
        errors=tuple(f"{kind}: {text}" for kind, _, text in errors),
        action_states=actions,
        error_levels=tuple((kind, level) for kind, level, _ in errors),
        paused=msg.flag("paused", default=False),
        information_types=msg.texts("information", "infoType") if msg.has("information") else (),
    )


def parse_connection(payload: bytes, what: str = "connection") -> tuple[str, str]:
    """Decode a ``connection`` message into (serialNumber, connectionState).

    Raises:
        ProtocolError: when the header or the state is invalid; never any other exception.
    """
    msg = Fields(load_object(payload, what), what)
    _, _, serial = _header(msg)
    return serial, msg.text("connectionState", choices=CONNECTION_STATES)


@dataclass(frozen=True)
class FactsheetReport:
    """What a vehicle said in one ``factsheet`` message: the action types it supports."""

    manufacturer: str
    serial: str
    action_types: frozenset[str]


def parse_factsheet(payload: bytes, what: str = "factsheet") -> FactsheetReport:
    """Decode a ``factsheet`` message: the header and ``protocolFeatures.agvActions[]
    .actionType``.

    Raises:
        ProtocolError: when the header or the action list is invalid; never any other
            exception.
    """
    msg = Fields(load_object(payload, what), what)
    _, manufacturer, serial = _header(msg)
    actions = msg.child("protocolFeatures").texts("agvActions", "actionType")
    return FactsheetReport(manufacturer, serial, frozenset(actions))
