"""Checks VDA 5050 v2.0 messages against the rules of the official 2.0 JSON schemas.

Pure: a decoded message in, a list of problems out, each ``'path: rule'``, e.g.
``nodes[2].actions[0].blockingType: must be one of NONE, SOFT, HARD``. No I/O.

The rules are those of ``json_schemas/*.schema`` in github.com/VDA5050/VDA5050 as published with
document version 2.0.0 (vendored, with their provenance, in ``docs/schemas/vda5050-2.0/``),
transcribed into :data:`_SCHEMAS`. Unknown fields are allowed, as the schemas allow them. Rules the
2.0 document adds, or that a schema cannot express, are checked too (marked ``# doc`` below):

* every message carries the full header (§6.4), also visualization and factsheet, whose schemas
  leave it optional; headerId, orderUpdateId and sequenceIds are uint32; ``version`` is
  ``2.<minor>.<patch>``; ``timestamp`` is ISO 8601 with a time zone (the schemas only annotate
  ``format: date-time``, which JSON Schema does not check by default);
* integers are integer literals (JSON Schema would also take ``3.0``); numbers are finite;
* ``batteryCharge`` is a percentage, 0..100; ``actionStatus`` may be PAUSED (§6.11, which the
  schema's enum leaves out); ``orientationType`` is GLOBAL or TANGENTIAL;
* orders (§6.6): at least one node; nodes and edges alternate in one sequence of sequenceIds that
  counts up by one from the first node (nodes even, edges odd; an update starts at its stitching
  node); one edge fewer than nodes; edge i runs from node i to node i+1; the first node is
  released; nothing released follows an unreleased element; an edge is released only if both its
  end nodes are;
* instant actions block nothing: their ``blockingType`` is NONE.

Three factsheet fields whose schema type is a typo are read as the document means them:
``localizationParameters`` (an object), ``envelopes3d[].description`` (a string) and
``loadSets[].boundingBoxReference.theta`` (a number).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias, TypeGuard

MESSAGE_KINDS = ("order", "instantActions", "state", "connection", "factsheet", "visualization")


@dataclass(frozen=True)
class _Str:
    enum: tuple[str, ...] = ()
    form: str = ""  # "timestamp" or "version"


@dataclass(frozen=True)
class _Num:
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class _Bool:
    pass


@dataclass(frozen=True)
class _ParamValue:
    """An actionParameter value: array, boolean, number or string."""


@dataclass(frozen=True)
class _Arr:
    items: _Spec


@dataclass(frozen=True)
class _Obj:
    props: Mapping[str, _Spec] = field(default_factory=dict)
    required: tuple[str, ...] = ()


_Spec: TypeAlias = _Str | _Num | _Bool | _ParamValue | _Arr | _Obj

_STR = _Str()
_NUM = _Num()
_INT = _Num(integer=True)
_UINT32 = _Num(integer=True, minimum=0, maximum=2**32 - 1)  # doc: uint32
_BOOL = _Bool()
_PI = 3.14159265359
_ANGLE = _Num(minimum=-_PI, maximum=_PI)
_UNIT = _Num(minimum=0, maximum=1)
_PERCENT = _Num(minimum=0, maximum=100)
_NON_NEGATIVE = _Num(minimum=0)


def _enum(*values: str) -> _Str:
    return _Str(enum=values)


def _arr(items: _Spec) -> _Arr:
    return _Arr(items)


def _obj(required: str = "", /, **props: _Spec) -> _Obj:
    return _Obj(props, tuple(required.split()))


def _same(spec: _Spec, names: str) -> dict[str, _Spec]:
    """``spec`` for each of the space-separated ``names``."""
    return dict.fromkeys(names.split(), spec)


_HEADER: dict[str, _Spec] = {
    "headerId": _UINT32,
    "timestamp": _Str(form="timestamp"),
    "version": _Str(form="version"),
    "manufacturer": _STR,
    "serialNumber": _STR,
}


def _message(required: str, **props: _Spec) -> _Obj:
    """A top-level message: the header (always required, # doc) plus ``props``."""
    return _obj(" ".join([*_HEADER, required]), **_HEADER, **props)


_ACTION = _obj(
    "actionId actionType blockingType",
    **_same(_STR, "actionType actionId actionDescription"),
    blockingType=_enum("NONE", "SOFT", "HARD"),
    actionParameters=_arr(_obj("key value", key=_STR, value=_ParamValue())),
)
_NODE = _obj(
    "nodeId sequenceId released actions",
    **_same(_STR, "nodeId nodeDescription"),
    sequenceId=_UINT32,
    released=_BOOL,
    nodePosition=_obj(
        "x y mapId",
        **_same(_NUM, "x y"),
        **_same(_STR, "mapId mapDescription"),
        theta=_ANGLE,
        allowedDeviationXY=_NON_NEGATIVE,
        allowedDeviationTheta=_Num(minimum=-3.141592654, maximum=3.141592654),
    ),
    actions=_arr(_ACTION),
)
_EDGE = _obj(
    "edgeId sequenceId released startNodeId endNodeId actions",
    **_same(_STR, "edgeId edgeDescription startNodeId endNodeId direction"),
    **_same(_NUM, "maxSpeed maxHeight minHeight maxRotationSpeed length"),
    **_same(_BOOL, "released rotationAllowed"),
    sequenceId=_UINT32,
    orientation=_ANGLE,
    orientationType=_enum("GLOBAL", "TANGENTIAL"),  # doc: the schema says only "string"
    trajectory=_obj(
        "degree knotVector controlPoints",
        degree=_Num(integer=True, minimum=1),
        knotVector=_arr(_UNIT),
        controlPoints=_arr(_obj("x y", x=_NUM, y=_NUM, weight=_NON_NEGATIVE)),
    ),
    actions=_arr(_ACTION),
)
_REFERENCE = _obj("referenceKey referenceValue", **_same(_STR, "referenceKey referenceValue"))
_AGV_POSITION = _obj(
    "x y theta mapId positionInitialized",
    **_same(_NUM, "x y theta deviationRange"),
    **_same(_STR, "mapId mapDescription"),
    positionInitialized=_BOOL,
    localizationScore=_UNIT,
)
_VELOCITY = _obj(**_same(_NUM, "vx vy omega"))
_LOAD_DIMENSIONS = _obj("length width", **_same(_NUM, "length width height"))
_BOUNDING_BOX = _obj("x y z", **_same(_NUM, "x y z theta"))
_STATE = _message(
    "orderId orderUpdateId lastNodeId lastNodeSequenceId nodeStates edgeStates driving "
    "actionStates batteryState operatingMode errors safetyState",
    **_same(_STR, "orderId zoneSetId lastNodeId"),
    **_same(_UINT32, "orderUpdateId lastNodeSequenceId"),
    **_same(_BOOL, "driving paused newBaseRequest"),
    distanceSinceLastNode=_NUM,
    operatingMode=_enum("AUTOMATIC", "SEMIAUTOMATIC", "MANUAL", "SERVICE", "TEACHIN"),
    nodeStates=_arr(
        _obj(
            "nodeId sequenceId released",
            **_same(_STR, "nodeId nodeDescription"),
            sequenceId=_UINT32,
            released=_BOOL,
            nodePosition=_obj("x y mapId", **_same(_NUM, "x y theta"), mapId=_STR),
        )
    ),
    edgeStates=_arr(
        _obj(
            "edgeId sequenceId released",
            **_same(_STR, "edgeId edgeDescription"),
            sequenceId=_UINT32,
            released=_BOOL,
            trajectory=_obj(
                "degree knotVector controlPoints",
                degree=_INT,
                knotVector=_arr(_UNIT),
                controlPoints=_arr(_obj("x y", **_same(_NUM, "x y weight"))),
            ),
        )
    ),
    agvPosition=_AGV_POSITION,
    velocity=_VELOCITY,
    loads=_arr(
        _obj(
            **_same(_STR, "loadId loadType loadPosition"),
            boundingBoxReference=_BOUNDING_BOX,
            loadDimensions=_LOAD_DIMENSIONS,
            weight=_NON_NEGATIVE,
        )
    ),
    actionStates=_arr(
        _obj(
            "actionId actionStatus",
            **_same(_STR, "actionId actionType actionDescription resultDescription"),
            actionStatus=_enum(  # doc: PAUSED
                "WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED"
            ),
        )
    ),
    batteryState=_obj(
        "batteryCharge charging",
        batteryCharge=_PERCENT,  # doc: the schema gives no range
        batteryVoltage=_NUM,
        batteryHealth=_PERCENT,
        charging=_BOOL,
        reach=_NON_NEGATIVE,
    ),
    errors=_arr(
        _obj(
            "errorType errorLevel",
            **_same(_STR, "errorType errorDescription"),
            errorReferences=_arr(_REFERENCE),
            errorLevel=_enum("WARNING", "FATAL"),
        )
    ),
    information=_arr(
        _obj(
            "infoType infoLevel",
            **_same(_STR, "infoType infoDescription"),
            infoReferences=_arr(_REFERENCE),
            infoLevel=_enum("INFO", "DEBUG"),
        )
    ),
    safetyState=_obj(
        "eStop fieldViolation",
        eStop=_enum("AUTOACK", "MANUAL", "REMOTE", "NONE"),
        fieldViolation=_BOOL,
    ),
)
_FACTSHEET = _message(
    "typeSpecification physicalParameters protocolLimits protocolFeatures agvGeometry "
    "loadSpecification",
    typeSpecification=_obj(
        "seriesName agvKinematic agvClass maxLoadMass localizationTypes navigationTypes",
        **_same(_STR, "seriesName seriesDescription"),
        agvKinematic=_enum("DIFF", "OMNI", "THREEWHEEL"),
        agvClass=_enum("FORKLIFT", "CONVEYOR", "TUGGER", "CARRIER"),
        maxLoadMass=_NON_NEGATIVE,
        localizationTypes=_arr(_enum("NATURAL", "REFLECTOR", "RFID", "DMC", "SPOT", "GRID")),
        navigationTypes=_arr(_enum("PHYSICAL_LINE_GUIDED", "VIRTUAL_LINE_GUIDED", "AUTONOMOUS")),
    ),
    physicalParameters=_obj(
        "speedMin speedMax accelerationMax decelerationMax heightMax width length",
        **_same(_NUM, "speedMin speedMax accelerationMax decelerationMax heightMin heightMax"),
        **_same(_NUM, "width length"),
    ),
    protocolLimits=_obj(
        "maxStringLens maxArrayLens timing",
        maxStringLens=_obj(
            **_same(_INT, "msgLen topicSerialLen topicElemLen idLen enumLen loadIdLen"),
            idNumericalOnly=_BOOL,
        ),
        maxArrayLens=_Obj(
            _same(
                _INT,
                "order.nodes order.edges node.actions edge.actions actions.actionsParameters "
                "instantActions trajectory.knotVector trajectory.controlPoints state.nodeStates "
                "state.edgeStates state.loads state.actionStates state.errors state.information "
                "error.errorReferences information.infoReferences",
            )
        ),
        timing=_obj(
            "minOrderInterval minStateInterval",
            **_same(
                _NUM,
                "minOrderInterval minStateInterval defaultStateInterval visualizationInterval",
            ),
        ),
    ),
    protocolFeatures=_obj(
        "optionalParameters agvActions",
        optionalParameters=_arr(
            _obj(
                "parameter support",
                **_same(_STR, "parameter description"),
                support=_enum("SUPPORTED", "REQUIRED"),
            )
        ),
        agvActions=_arr(
            _obj(
                "actionType actionScopes",
                **_same(_STR, "actionType actionDescription resultDescription"),
                actionScopes=_arr(_enum("INSTANT", "NODE", "EDGE")),
                actionParameters=_arr(
                    _obj(
                        "key valueDataType",
                        **_same(_STR, "key description"),
                        valueDataType=_enum(
                            "BOOL", "NUMBER", "INTEGER", "FLOAT", "STRING", "OBJECT", "ARRAY"
                        ),
                        isOptional=_BOOL,
                    )
                ),
            )
        ),
    ),
    agvGeometry=_obj(
        wheelDefinitions=_arr(
            _obj(
                "type isActiveDriven isActiveSteered position diameter width",
                type=_enum("DRIVE", "CASTER", "FIXED", "MECANUM"),
                **_same(_BOOL, "isActiveDriven isActiveSteered"),
                position=_obj("x y", **_same(_NUM, "x y theta")),
                **_same(_NUM, "diameter width centerDisplacement"),
                constraints=_STR,
            )
        ),
        envelopes2d=_arr(
            _obj(
                "set polygonPoints",
                **_same(_STR, "set description"),
                polygonPoints=_arr(_obj("x y", **_same(_NUM, "x y"))),
            )
        ),
        envelopes3d=_arr(
            _obj(
                "set format",
                **_same(_STR, "set format url"),
                data=_obj(),
                description=_STR,  # doc: the schema's "integer" is a typo
            )
        ),
    ),
    loadSpecification=_obj(
        loadPositions=_arr(_STR),
        loadSets=_arr(
            _obj(
                "setName loadType",
                **_same(_STR, "setName loadType description"),
                loadPositions=_arr(_STR),
                boundingBoxReference=_BOUNDING_BOX,  # doc: theta a number, not "integer"
                loadDimensions=_LOAD_DIMENSIONS,
                **_same(
                    _NUM,
                    "maxWeight minLoadhandlingHeight maxLoadhandlingHeight minLoadhandlingDepth "
                    "maxLoadhandlingDepth minLoadhandlingTilt maxLoadhandlingTilt agvSpeedLimit "
                    "agvAccelerationLimit agvDecelerationLimit pickTime dropTime",
                ),
            )
        ),
    ),
    localizationParameters=_obj(),  # doc: the schema's "integer" is a typo
)
_SCHEMAS: dict[str, _Obj] = {
    "order": _message(
        "orderId orderUpdateId nodes edges",
        **_same(_STR, "orderId zoneSetId"),
        orderUpdateId=_UINT32,
        nodes=_arr(_NODE),
        edges=_arr(_EDGE),
    ),
    "instantActions": _message("actions", actions=_arr(_ACTION)),
    "state": _STATE,
    "connection": _message(
        "connectionState", connectionState=_enum("ONLINE", "OFFLINE", "CONNECTIONBROKEN")
    ),
    "factsheet": _FACTSHEET,
    "visualization": _message("", agvPosition=_AGV_POSITION, velocity=_VELOCITY),
}

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))"
)
_VERSION = re.compile(r"2\.[0-9]+\.[0-9]+")


def check_message(kind: str, msg: object) -> list[str]:
    """Every rule ``msg`` breaks, as ``'path: rule'`` strings; empty when it is valid.

    Args:
        kind: one of :data:`MESSAGE_KINDS` (the last element of the message's topic).
        msg: the decoded JSON message.

    Raises:
        ValueError: for an unknown ``kind``.

    >>> check_message("connection", {"connectionState": "ASLEEP"})[-1]
    'connectionState: must be one of ONLINE, OFFLINE, CONNECTIONBROKEN'
    """
    spec = _SCHEMAS.get(kind)
    if spec is None:
        raise ValueError(
            f"unknown VDA 5050 message kind {kind!r}; known: {', '.join(MESSAGE_KINDS)}"
        )
    if not isinstance(msg, dict):
        return ["message: must be a JSON object"]
    problems: list[str] = []
    _check(spec, msg, "", problems)
    if kind == "order":
        problems += _order_rules(msg)
    elif kind == "instantActions":
        problems += _instant_action_rules(msg)
    return problems


def check_payload(topic: str, payload: bytes) -> list[str]:
    """Decode an MQTT message and check it by its topic ``uagv/v2/<manufacturer>/<serial>/<kind>``.

    Besides :func:`check_message`, the header's manufacturer and serialNumber must match the
    topic. A bad topic or malformed JSON gives one problem; this never raises.
    """
    parts = topic.split("/")
    if len(parts) != 5 or parts[:2] != ["uagv", "v2"] or parts[4] not in MESSAGE_KINDS:
        return [
            f"topic: {topic!r} is not uagv/v2/<manufacturer>/<serialNumber>/<kind> with a kind "
            f"of {', '.join(MESSAGE_KINDS)}"
        ]
    try:
        msg = json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return [f"payload: not valid JSON ({exc})"]
    problems = check_message(parts[4], msg)
    if isinstance(msg, dict):
        for key, expected in (("manufacturer", parts[2]), ("serialNumber", parts[3])):
            value = msg.get(key)
            if isinstance(value, str) and value != expected:
                problems.append(f"{key}: is {value!r} but the topic says {expected!r}")
    return problems


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _check(spec: _Spec, value: object, path: str, out: list[str]) -> None:
    if isinstance(spec, _Obj):
        if not isinstance(value, dict):
            out.append(f"{path}: must be an object")
            return
        for key in spec.required:
            if key not in value:
                out.append(f"{_child(path, key)}: is required")
        for key, sub in spec.props.items():
            if key in value:
                _check(sub, value[key], _child(path, key), out)
    elif isinstance(spec, _Arr):
        if not isinstance(value, list):
            out.append(f"{path}: must be an array")
            return
        for i, item in enumerate(value):
            _check(spec.items, item, f"{path}[{i}]", out)
    else:
        problem = _scalar_problem(spec, value)
        if problem:
            out.append(f"{path}: {problem}")


def _child(path: str, key: str) -> str:
    if "." in key:  # factsheet maxArrayLens keys such as "order.nodes"
        return f"{path}[{key!r}]"
    return f"{path}.{key}" if path else key


def _scalar_problem(spec: _Str | _Num | _Bool | _ParamValue, value: object) -> str | None:
    if isinstance(spec, _Bool):
        return None if isinstance(value, bool) else "must be a boolean"
    if isinstance(spec, _Num):
        return _number_problem(spec, value)
    if isinstance(spec, _Str):
        return _string_problem(spec, value)
    if isinstance(value, list | str | bool | int) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        return None
    return "must be an array, boolean, number or string"


def _number_problem(spec: _Num, value: object) -> str | None:
    wanted = "an integer" if spec.integer else "a number"
    # bool is an int in Python but not a number in JSON; 3.0 is not an integer literal (# doc).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be {wanted}"
    if spec.integer and not isinstance(value, int):
        return "must be an integer"
    if not math.isfinite(value):
        return "must be a finite number"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be >= {spec.minimum}"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be <= {spec.maximum}"
    return None


def _string_problem(spec: _Str, value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if spec.enum and value not in spec.enum:
        return f"must be one of {', '.join(spec.enum)}"
    if spec.form == "timestamp" and not _is_timestamp(value):
        return "must be an ISO 8601 date-time with a time zone, e.g. 2027-03-01T11:30:00.250Z"
    if spec.form == "version" and not _VERSION.fullmatch(value):
        return "must be 2.<minor>.<patch>, a VDA 5050 v2 protocol version"
    return None


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_h, offset_m = match.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:  # e.g. month 13 or 25 o'clock
        return False
    return offset_h is None or (int(offset_h) < 24 and int(offset_m) < 60)


def _objects(items: list[Any]) -> list[dict[str, Any]]:
    """Items that are objects; others ({} here) were reported by the schema pass."""
    return [item if isinstance(item, dict) else {} for item in items]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _order_rules(msg: dict[Any, Any]) -> list[str]:
    """The order rules of §6.6 that no schema states."""
    raw_nodes, raw_edges = msg.get("nodes"), msg.get("edges")
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        return []
    if not raw_nodes:
        return ["nodes: an order needs at least one node"]
    nodes, edges = _objects(raw_nodes), _objects(raw_edges)
    out: list[str] = []
    if len(edges) != len(nodes) - 1:
        out.append(
            f"edges: must hold one edge fewer than nodes ({len(nodes) - 1}), not {len(edges)}"
        )
    first = nodes[0].get("sequenceId")
    if _is_int(first) and first % 2:
        out.append("nodes[0].sequenceId: must be even (nodes take even sequenceIds, edges odd)")
    elif _is_int(first):
        for name, items, offset in (("nodes", nodes, 0), ("edges", edges, 1)):
            for i, item in enumerate(items):
                seq, want = item.get("sequenceId"), first + 2 * i + offset
                if _is_int(seq) and seq != want:
                    out.append(
                        f"{name}[{i}].sequenceId: must be {want} (nodes and edges alternate in "
                        "one sequence counting up from nodes[0])"
                    )
    for i, edge in enumerate(edges[: len(nodes) - 1]):
        for key, j in (("startNodeId", i), ("endNodeId", i + 1)):
            want_id, got = nodes[j].get("nodeId"), edge.get(key)
            if isinstance(want_id, str) and isinstance(got, str) and got != want_id:
                out.append(f"edges[{i}].{key}: must be {want_id!r}, the nodeId of nodes[{j}]")
    return out + _release_rules(nodes, edges)


def _release_rules(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    if nodes[0].get("released") is False:
        out.append("nodes[0].released: the first node must be released")
    chain: list[tuple[str, dict[str, Any]]] = []  # nodes[0], edges[0], nodes[1], ...
    for i in range(max(len(nodes), len(edges))):
        if i < len(nodes):
            chain.append((f"nodes[{i}]", nodes[i]))
        if i < len(edges):
            chain.append((f"edges[{i}]", edges[i]))
    unreleased = ""
    for where, item in chain:
        released = item.get("released")
        if released is False and not unreleased:
            unreleased = where
        elif released is True and unreleased:
            out.append(
                f"{where}.released: nothing may be released after the unreleased {unreleased}"
            )
    for i, edge in enumerate(edges[: len(nodes) - 1]):
        if edge.get("released") is True and nodes[i + 1].get("released") is False:
            out.append(
                f"edges[{i}].released: an edge is released only if both its end nodes are "
                f"(nodes[{i + 1}] is not)"
            )
    return out


def _instant_action_rules(msg: dict[Any, Any]) -> list[str]:
    actions = msg.get("actions")
    if not isinstance(actions, list):
        return []
    return [
        f"actions[{i}].blockingType: must be NONE for an instant action"
        for i, action in enumerate(_objects(actions))
        if action.get("blockingType") in ("SOFT", "HARD")
    ]
