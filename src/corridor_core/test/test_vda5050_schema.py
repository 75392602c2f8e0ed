"""VDA 5050 v2.0 message checker: schema rules, order semantics, payload decoding.

Every example and breakage is also run through ``jsonschema`` with the official 2.0 schemas
vendored in docs/schemas/vda5050-2.0/: both must agree, except on the rules the checker takes from
the 2.0 document (marked ``DOC`` in the tables), where the schema must accept the message.
"""

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from corridor_core.map_io import load_map
from corridor_core.vda5050 import HeaderStamper, build_order, topic
from corridor_core.vda5050_schema import MESSAGE_KINDS, check_message, check_payload

ROOT = Path(__file__).resolve().parents[3]
MAP = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"
SCHEMA_DIR = ROOT / "docs" / "schemas" / "vda5050-2.0"
SCHEMA = True  # the official schema rejects the breakage too
DOC = False  # a rule from the 2.0 document or order semantics: the schema accepts the message

Msg = dict[str, Any]


def _header(serial: str = "T01") -> Msg:
    return {
        "headerId": 7,
        "timestamp": "2027-03-01T11:30:00.250Z",
        "version": "2.0.0",
        "manufacturer": "Corridor",
        "serialNumber": serial,
    }


def _position() -> Msg:
    return {"x": 1050.0, "y": 0.0, "theta": 0.0, "mapId": "tan-thanh-puzhai-2027"}


VALID: dict[str, Msg] = {
    "order": {  # an update: it starts at its stitching node, sequenceId 4
        **_header(),
        "orderId": "R-7",
        "orderUpdateId": 3,
        "zoneSetId": "lane-2027",
        "nodes": [
            {
                "nodeId": "G-CN",
                "sequenceId": 4,
                "released": True,
                "nodeDescription": "north gate",
                "nodePosition": {
                    **_position(),
                    "allowedDeviationXY": 0.5,
                    "allowedDeviationTheta": 0.1,
                    "mapDescription": "border lane",
                },
                "actions": [
                    {
                        "actionId": "R-7:clearance",
                        "actionType": "waitForTrigger",
                        "blockingType": "HARD",
                        "actionDescription": "wait until customs clears the container",
                        "actionParameters": [
                            {"key": "triggerType", "value": "clearance"},
                            {"key": "timeout_s", "value": 600},
                            {"key": "lanes", "value": ["A", "B"]},
                            {"key": "urgent", "value": False},
                        ],
                    }
                ],
            },
            {"nodeId": "P-N", "sequenceId": 6, "released": True, "actions": []},
            {"nodeId": "P-S", "sequenceId": 8, "released": False, "actions": []},
        ],
        "edges": [
            {
                "edgeId": "S1:G-CN>P-N",
                "sequenceId": 5,
                "released": True,
                "startNodeId": "G-CN",
                "endNodeId": "P-N",
                "edgeDescription": "inspection approach",
                "maxSpeed": 8.333,
                "maxHeight": 4.5,
                "minHeight": 0.0,
                "orientation": 0.0,
                "orientationType": "TANGENTIAL",
                "direction": "straight",
                "rotationAllowed": False,
                "maxRotationSpeed": 0.5,
                "length": 1000.0,
                "trajectory": {
                    "degree": 1,
                    "knotVector": [0, 0, 1, 1],
                    "controlPoints": [{"x": 50.0, "y": 0.0, "weight": 1.0}, {"x": 1050.0, "y": 0}],
                },
                "actions": [{"actionId": "horn", "actionType": "beep", "blockingType": "NONE"}],
            },
            {
                "edgeId": "S2:P-N>P-S",
                "sequenceId": 7,
                "released": False,
                "startNodeId": "P-N",
                "endNodeId": "P-S",
                "actions": [],
            },
        ],
    },
    "instantActions": {
        **_header(),
        "actions": [
            {
                "actionId": "ia-1",
                "actionType": "trigger",
                "blockingType": "NONE",
                "actionParameters": [{"key": "actionId", "value": "R-7:clearance"}],
            },
            {
                "actionId": "ia-2",
                "actionType": "cancelOrder",
                "blockingType": "NONE",
                "actionDescription": "customs refused entry",
            },
        ],
    },
    "state": {
        **_header(),
        "orderId": "R-7",
        "orderUpdateId": 3,
        "zoneSetId": "lane-2027",
        "lastNodeId": "P-N",
        "lastNodeSequenceId": 6,
        "driving": True,
        "paused": False,
        "newBaseRequest": False,
        "distanceSinceLastNode": 12.5,
        "operatingMode": "AUTOMATIC",
        "nodeStates": [
            {"nodeId": "P-S", "sequenceId": 8, "released": False, "nodePosition": _position()}
        ],
        "edgeStates": [
            {
                "edgeId": "S2:P-N>P-S",
                "sequenceId": 7,
                "released": False,
                "edgeDescription": "to the south platform",
                "trajectory": {
                    "degree": 1,
                    "knotVector": [0.0, 0.0, 1.0, 1.0],
                    "controlPoints": [
                        {"x": 1050.0, "y": 0.0},
                        {"x": 1650.0, "y": 0.0, "weight": 1},
                    ],
                },
            }
        ],
        "agvPosition": {
            **_position(),
            "x": 1062.5,
            "mapDescription": "border lane",
            "positionInitialized": True,
            "localizationScore": 0.9,
            "deviationRange": 0.2,
        },
        "velocity": {"vx": 4.0, "vy": 0.0, "omega": 0.0},
        "loads": [
            {
                "loadId": "MSCU1234565",
                "loadType": "40HC",
                "loadPosition": "deck",
                "boundingBoxReference": {"x": 0.0, "y": 0.0, "z": 1.2, "theta": 0.0},
                "loadDimensions": {"length": 12.19, "width": 2.44, "height": 2.9},
                "weight": 26500.0,
            }
        ],
        "actionStates": [
            {
                "actionId": "R-7:clearance",
                "actionType": "waitForTrigger",
                "actionStatus": "FINISHED",
                "resultDescription": "cleared",
            }
        ],
        "batteryState": {
            "batteryCharge": 80.5,
            "batteryVoltage": 650.0,
            "batteryHealth": 97,
            "charging": False,
            "reach": 180000,
        },
        "errors": [
            {
                "errorType": "laneSensorDegraded",
                "errorLevel": "WARNING",
                "errorDescription": "left lidar dirty",
                "errorReferences": [{"referenceKey": "edgeId", "referenceValue": "S2:P-N>P-S"}],
            }
        ],
        "information": [
            {
                "infoType": "queue",
                "infoLevel": "INFO",
                "infoDescription": "second in line",
                "infoReferences": [{"referenceKey": "nodeId", "referenceValue": "P-S"}],
            }
        ],
        "safetyState": {"eStop": "NONE", "fieldViolation": False},
    },
    "connection": {**_header(), "connectionState": "ONLINE"},
    "factsheet": {
        **_header(),
        "typeSpecification": {
            "seriesName": "CT-40",
            "seriesDescription": "autonomous container tractor",
            "agvKinematic": "DIFF",
            "agvClass": "CARRIER",
            "maxLoadMass": 40000,
            "localizationTypes": ["NATURAL", "RFID"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.1,
            "speedMax": 11.1,
            "accelerationMax": 1.0,
            "decelerationMax": 3.0,
            "heightMin": 1.2,
            "heightMax": 4.5,
            "width": 2.55,
            "length": 16.5,
        },
        "protocolLimits": {
            "maxStringLens": {"msgLen": 65536, "idLen": 64, "idNumericalOnly": False},
            "maxArrayLens": {"order.nodes": 64, "order.edges": 63, "instantActions": 8},
            "timing": {"minOrderInterval": 0.5, "minStateInterval": 0.2, "defaultStateInterval": 1},
        },
        "protocolFeatures": {
            "optionalParameters": [
                {"parameter": "order.edges.maxSpeed", "support": "REQUIRED", "description": "x"}
            ],
            "agvActions": [
                {
                    "actionType": "waitForTrigger",
                    "actionScopes": ["NODE"],
                    "actionParameters": [
                        {"key": "triggerType", "valueDataType": "STRING", "isOptional": True}
                    ],
                    "resultDescription": "none",
                }
            ],
        },
        "agvGeometry": {
            "wheelDefinitions": [
                {
                    "type": "DRIVE",
                    "isActiveDriven": True,
                    "isActiveSteered": False,
                    "position": {"x": 0.0, "y": 0.9, "theta": 0.0},
                    "diameter": 1.05,
                    "width": 0.4,
                }
            ],
            "envelopes2d": [
                {"set": "default", "polygonPoints": [{"x": 0, "y": 0}, {"x": 16.5, "y": 2.55}]}
            ],
            "envelopes3d": [{"set": "default", "format": "DXF", "url": "https://corridor.invalid"}],
        },
        "loadSpecification": {
            "loadPositions": ["deck"],
            "loadSets": [
                {
                    "setName": "40HC",
                    "loadType": "ISO 6346 container",
                    "loadDimensions": {"length": 12.19, "width": 2.44},
                    "maxWeight": 30480,
                    "agvSpeedLimit": 8.3,
                }
            ],
        },
    },
    "visualization": {
        **_header(),
        "agvPosition": {**_position(), "positionInitialized": True},
        "velocity": {"vx": 4.0, "omega": 0.0},
    },
}


def _path(tokens: list[str | int]) -> str:
    """A JSON location in the checker's notation: a.b[2]['c.d']."""
    out = ""
    for token in tokens:
        if isinstance(token, int):
            out += f"[{token}]"
        elif "." in token:
            out += f"[{token!r}]"
        else:
            out += f".{token}" if out else token
    return out


def _tokens(path: str) -> list[str | int]:
    return [int(t) if t.isdigit() else t for t in re.findall(r"[^.\[\]]+", path)]


def _set(path: str, value: object) -> Callable[[Msg], None]:
    def change(msg: Msg) -> None:
        *head, last = _tokens(path)
        target: Any = msg
        for token in head:
            target = target[token]
        target[last] = value

    return change


def _del(path: str) -> Callable[[Msg], None]:
    def change(msg: Msg) -> None:
        *head, last = _tokens(path)
        target: Any = msg
        for token in head:
            target = target[token]
        del target[last]

    return change


def _then(*changes: Callable[[Msg], None]) -> Callable[[Msg], None]:
    def change(msg: Msg) -> None:
        for one in changes:
            one(msg)

    return change


ACTION0 = "nodes[0].actions[0]"
BREAKAGES = [
    # order: schema rules
    ("order", _del("orderId"), "orderId: is required", SCHEMA),
    ("order", _set("orderUpdateId", "1"), "orderUpdateId: must be an integer", SCHEMA),
    ("order", _set("orderUpdateId", -1), "orderUpdateId: must be >= 0", SCHEMA),
    ("order", _set("nodes", "all"), "nodes: must be an array", SCHEMA),
    ("order", _set("nodes[1].released", 1), "nodes[1].released: must be a boolean", SCHEMA),
    ("order", _del("edges[0].startNodeId"), "edges[0].startNodeId: is required", SCHEMA),
    ("order", _del("nodes[0].nodePosition.mapId"), "nodes[0].nodePosition.mapId: is required", SCHEMA),
    ("order", _set(f"{ACTION0}.blockingType", "SINGLE"), f"{ACTION0}.blockingType: must be one of NONE, SOFT, HARD", SCHEMA),
    ("order", _del(f"{ACTION0}.actionType"), f"{ACTION0}.actionType: is required", SCHEMA),
    ("order", _set(f"{ACTION0}.actionParameters[0].value", {"a": 1}), f"{ACTION0}.actionParameters[0].value: must be an array, boolean, number or string", SCHEMA),
    ("order", _set(f"{ACTION0}.actionParameters[1].value", None), f"{ACTION0}.actionParameters[1].value: must be an array, boolean, number or string", SCHEMA),
    ("order", _set("nodes[0].nodePosition.theta", 4.0), "nodes[0].nodePosition.theta: must be <= 3.14159265359", SCHEMA),
    ("order", _set("nodes[0].nodePosition.allowedDeviationXY", -0.1), "nodes[0].nodePosition.allowedDeviationXY: must be >= 0", SCHEMA),
    ("order", _set("edges[0].trajectory.degree", 0), "edges[0].trajectory.degree: must be >= 1", SCHEMA),
    ("order", _set("edges[0].trajectory.degree", True), "edges[0].trajectory.degree: must be an integer", SCHEMA),
    ("order", _set("edges[0].trajectory.knotVector[3]", 1.5), "edges[0].trajectory.knotVector[3]: must be <= 1", SCHEMA),
    ("order", _del("edges[0].trajectory.controlPoints[1].y"), "edges[0].trajectory.controlPoints[1].y: is required", SCHEMA),
    ("order", _set("edges[0].maxSpeed", "fast"), "edges[0].maxSpeed: must be a number", SCHEMA),
    # header, on an order
    ("order", _set("headerId", True), "headerId: must be an integer", SCHEMA),
    ("order", _set("manufacturer", 7), "manufacturer: must be a string", SCHEMA),
    ("order", _set("headerId", 2.0), "headerId: must be an integer", DOC),
    ("order", _set("headerId", -1), "headerId: must be >= 0", DOC),
    ("order", _set("headerId", 2**32), "headerId: must be <= 4294967295", DOC),
    ("order", _set("version", "1.1.0"), "version: must be 2.<minor>.<patch>, a VDA 5050 v2 protocol version", DOC),
    ("order", _set("timestamp", "2027-03-01 11:30:00Z"), "timestamp: must be an ISO 8601 date-time with a time zone, e.g. 2027-03-01T11:30:00.250Z", DOC),
    ("order", _set("timestamp", "2027-03-01T11:30:00.250"), "timestamp: must be an ISO 8601 date-time with a time zone, e.g. 2027-03-01T11:30:00.250Z", DOC),
    ("order", _set("timestamp", "2027-13-01T11:30:00Z"), "timestamp: must be an ISO 8601 date-time with a time zone, e.g. 2027-03-01T11:30:00.250Z", DOC),
    ("order", _set("edges[0].orientationType", "SIDEWAYS"), "edges[0].orientationType: must be one of GLOBAL, TANGENTIAL", DOC),
    # order: semantic rules
    ("order", _then(_set("nodes", []), _set("edges", [])), "nodes: an order needs at least one node", DOC),
    ("order", _del("edges[1]"), "edges: must hold one edge fewer than nodes (2), not 1", DOC),
    ("order", _set("nodes[0].sequenceId", 5), "nodes[0].sequenceId: must be even (nodes take even sequenceIds, edges odd)", DOC),
    ("order", _set("nodes[1].sequenceId", 10), "nodes[1].sequenceId: must be 6 (nodes and edges alternate in one sequence counting up from nodes[0])", DOC),
    ("order", _set("edges[1].sequenceId", 9), "edges[1].sequenceId: must be 7 (nodes and edges alternate in one sequence counting up from nodes[0])", DOC),
    ("order", _set("edges[0].startNodeId", "Z-CN"), "edges[0].startNodeId: must be 'G-CN', the nodeId of nodes[0]", DOC),
    ("order", _set("edges[1].endNodeId", "B0"), "edges[1].endNodeId: must be 'P-S', the nodeId of nodes[2]", DOC),
    ("order", _set("nodes[0].released", False), "nodes[0].released: the first node must be released", DOC),
    ("order", _set("nodes[2].released", True), "nodes[2].released: nothing may be released after the unreleased edges[1]", DOC),
    ("order", _set("nodes[1].released", False), "edges[0].released: an edge is released only if both its end nodes are (nodes[1] is not)", DOC),
    # instantActions
    ("instantActions", _del("actions"), "actions: is required", SCHEMA),
    ("instantActions", _set("actions", "trigger"), "actions: must be an array", SCHEMA),
    ("instantActions", _del("actions[1].actionId"), "actions[1].actionId: is required", SCHEMA),
    ("instantActions", _set("actions[0].blockingType", "none"), "actions[0].blockingType: must be one of NONE, SOFT, HARD", SCHEMA),
    ("instantActions", _del("actions[0].actionParameters[0].value"), "actions[0].actionParameters[0].value: is required", SCHEMA),
    ("instantActions", _set("actions[1].blockingType", "HARD"), "actions[1].blockingType: must be NONE for an instant action", DOC),
    # state
    ("state", _del("safetyState"), "safetyState: is required", SCHEMA),
    ("state", _set("driving", 1), "driving: must be a boolean", SCHEMA),
    ("state", _set("lastNodeSequenceId", True), "lastNodeSequenceId: must be an integer", SCHEMA),
    ("state", _set("operatingMode", "INTERVENED"), "operatingMode: must be one of AUTOMATIC, SEMIAUTOMATIC, MANUAL, SERVICE, TEACHIN", SCHEMA),
    ("state", _set("nodeStates[0].sequenceId", "8"), "nodeStates[0].sequenceId: must be an integer", SCHEMA),
    ("state", _set("edgeStates[0].trajectory.knotVector", [0, 2]), "edgeStates[0].trajectory.knotVector[1]: must be <= 1", SCHEMA),
    ("state", _del("agvPosition.positionInitialized"), "agvPosition.positionInitialized: is required", SCHEMA),
    ("state", _set("agvPosition.localizationScore", 1.5), "agvPosition.localizationScore: must be <= 1", SCHEMA),
    ("state", _set("velocity.vx", "fast"), "velocity.vx: must be a number", SCHEMA),
    ("state", _set("loads[0].weight", -5), "loads[0].weight: must be >= 0", SCHEMA),
    ("state", _del("loads[0].loadDimensions.width"), "loads[0].loadDimensions.width: is required", SCHEMA),
    ("state", _set("actionStates[0].actionStatus", "DONE"), "actionStates[0].actionStatus: must be one of WAITING, INITIALIZING, RUNNING, PAUSED, FINISHED, FAILED", SCHEMA),
    ("state", _set("batteryState.charging", "no"), "batteryState.charging: must be a boolean", SCHEMA),
    ("state", _set("batteryState.batteryHealth", 120), "batteryState.batteryHealth: must be <= 100", SCHEMA),
    ("state", _set("errors[0].errorLevel", "CRITICAL"), "errors[0].errorLevel: must be one of WARNING, FATAL", SCHEMA),
    ("state", _del("errors[0].errorReferences[0].referenceValue"), "errors[0].errorReferences[0].referenceValue: is required", SCHEMA),
    ("state", _set("information[0].infoLevel", "WARNING"), "information[0].infoLevel: must be one of INFO, DEBUG", SCHEMA),
    ("state", _set("safetyState.eStop", "TRIGGERED"), "safetyState.eStop: must be one of AUTOACK, MANUAL, REMOTE, NONE", SCHEMA),
    ("state", _set("batteryState.batteryCharge", 101), "batteryState.batteryCharge: must be <= 100", DOC),
    ("state", _set("batteryState.batteryCharge", -1), "batteryState.batteryCharge: must be >= 0", DOC),
    ("state", _set("lastNodeSequenceId", -2), "lastNodeSequenceId: must be >= 0", DOC),
    # connection
    ("connection", _del("connectionState"), "connectionState: is required", SCHEMA),
    ("connection", _set("connectionState", "CONNECTION_BROKEN"), "connectionState: must be one of ONLINE, OFFLINE, CONNECTIONBROKEN", SCHEMA),
    ("connection", _del("headerId"), "headerId: is required", SCHEMA),
    ("connection", _set("serialNumber", None), "serialNumber: must be a string", SCHEMA),
    # factsheet
    ("factsheet", _del("typeSpecification"), "typeSpecification: is required", SCHEMA),
    ("factsheet", _set("typeSpecification.agvKinematic", "ACKERMANN"), "typeSpecification.agvKinematic: must be one of DIFF, OMNI, THREEWHEEL", SCHEMA),
    ("factsheet", _set("typeSpecification.navigationTypes[0]", "PHYSICAL_LINDE_GUIDED"), "typeSpecification.navigationTypes[0]: must be one of PHYSICAL_LINE_GUIDED, VIRTUAL_LINE_GUIDED, AUTONOMOUS", SCHEMA),
    ("factsheet", _set("typeSpecification.maxLoadMass", -1), "typeSpecification.maxLoadMass: must be >= 0", SCHEMA),
    ("factsheet", _del("physicalParameters.speedMax"), "physicalParameters.speedMax: is required", SCHEMA),
    ("factsheet", _set("protocolLimits.timing.minStateInterval", "1s"), "protocolLimits.timing.minStateInterval: must be a number", SCHEMA),
    ("factsheet", lambda m: m["protocolLimits"]["maxArrayLens"].update({"order.nodes": "many"}), "protocolLimits.maxArrayLens['order.nodes']: must be an integer", SCHEMA),
    ("factsheet", _set("protocolFeatures.agvActions[0].actionScopes[0]", "ORDER"), "protocolFeatures.agvActions[0].actionScopes[0]: must be one of INSTANT, NODE, EDGE", SCHEMA),
    ("factsheet", _set("protocolFeatures.agvActions[0].actionParameters[0].valueDataType", "DOUBLE"), "protocolFeatures.agvActions[0].actionParameters[0].valueDataType: must be one of BOOL, NUMBER, INTEGER, FLOAT, STRING, OBJECT, ARRAY", SCHEMA),
    ("factsheet", _set("agvGeometry.wheelDefinitions[0].type", "OMNI"), "agvGeometry.wheelDefinitions[0].type: must be one of DRIVE, CASTER, FIXED, MECANUM", SCHEMA),
    ("factsheet", _del("loadSpecification.loadSets[0].loadType"), "loadSpecification.loadSets[0].loadType: is required", SCHEMA),
    ("factsheet", _set("headerId", -1), "headerId: must be >= 0", SCHEMA),
    ("factsheet", _del("headerId"), "headerId: is required", DOC),
    ("factsheet", _set("localizationParameters", 3), "localizationParameters: must be an object", DOC),
    # visualization
    ("visualization", _set("agvPosition.theta", "north"), "agvPosition.theta: must be a number", SCHEMA),
    ("visualization", _del("agvPosition.mapId"), "agvPosition.mapId: is required", SCHEMA),
    ("visualization", _set("velocity.omega", True), "velocity.omega: must be a number", SCHEMA),
    ("visualization", _del("serialNumber"), "serialNumber: is required", DOC),
]  # fmt: skip


@pytest.fixture(scope="module")
def validators() -> dict[str, Any]:
    out = {}
    for kind in MESSAGE_KINDS:
        schema = json.loads((SCHEMA_DIR / f"{kind}.schema").read_text())
        out[kind] = jsonschema.validators.validator_for(schema)(schema)
    return out


def _schema_problem_paths(validator: Any, msg: object) -> set[str]:
    """Where the official schema finds problems, in the checker's path notation."""
    paths = set()
    for error in validator.iter_errors(msg):
        tokens = list(error.absolute_path)
        if error.validator == "required":
            tokens.append(re.match(r"'(.+)' is a required property", error.message)[1])
        paths.add(_path(tokens))
    return paths


def _broken(kind: str, change: Callable[[Msg], None]) -> Msg:
    msg = copy.deepcopy(VALID[kind])
    change(msg)
    return msg


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_valid_example_of_each_kind_passes_checker_and_official_schema(
    kind: str, validators: dict[str, Any]
) -> None:
    assert check_message(kind, copy.deepcopy(VALID[kind])) == []
    assert _schema_problem_paths(validators[kind], VALID[kind]) == set()


@pytest.mark.parametrize(
    ("kind", "change", "problem", "in_schema"), BREAKAGES, ids=[b[2] for b in BREAKAGES]
)
def test_breakage_names_the_path_and_rule(
    kind: str, change: Callable[[Msg], None], problem: str, in_schema: bool, validators: Any
) -> None:
    msg = _broken(kind, change)
    problems = check_message(kind, msg)
    assert problem in problems, problems
    schema_paths = _schema_problem_paths(validators[kind], msg)
    if in_schema:
        assert problem.split(": ")[0] in schema_paths, schema_paths
    else:
        assert schema_paths == set(), "a DOC rule is one the official schema does not state"


def test_every_kind_has_at_least_three_breakages() -> None:
    counts = {kind: sum(b[0] == kind for b in BREAKAGES) for kind in MESSAGE_KINDS}
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("state", _set("actionStates[0].actionStatus", "PAUSED")),  # §6.11 lists PAUSED
        ("factsheet", _set("localizationParameters", {"type": "NATURAL"})),
        ("factsheet", _set("agvGeometry.envelopes3d[0].description", "cab and trailer")),
        ("factsheet", _set("loadSpecification.loadSets[0].boundingBoxReference", {"x": 0, "y": 0, "z": 1.2, "theta": 0.5})),
    ],
)  # fmt: skip
def test_document_wins_where_the_official_schema_has_a_slip(
    kind: str, change: Callable[[Msg], None], validators: dict[str, Any]
) -> None:
    msg = _broken(kind, change)
    assert check_message(kind, msg) == []
    assert _schema_problem_paths(validators[kind], msg) != set()


@pytest.mark.parametrize(
    ("path", "value"),
    [("headerId", True), ("orderUpdateId", False), ("nodes[0].sequenceId", True)],
)
def test_bool_is_not_an_integer(path: str, value: bool) -> None:
    msg = _broken("order", _set(path, value))
    assert check_message("order", msg) == [f"{path}: must be an integer"]


@pytest.mark.parametrize(
    "stamp",
    ["2027-03-01T11:30:00Z", "2027-03-01T11:30:00.250Z", "2027-03-01T18:30:00.5+07:00"],
)
def test_timestamps_with_or_without_fractions_and_with_an_offset_pass(stamp: str) -> None:
    assert check_message("connection", {**VALID["connection"], "timestamp": stamp}) == []


def test_unknown_kind_raises_and_non_objects_are_one_problem() -> None:
    with pytest.raises(ValueError, match="zoneSet"):
        check_message("zoneSet", {})
    assert check_message("state", [1, 2]) == ["message: must be a JSON object"]


def _payload(msg: Msg) -> bytes:
    return json.dumps(msg).encode()


def test_check_payload_accepts_a_valid_message_on_its_topic() -> None:
    for kind, msg in VALID.items():
        assert check_payload(f"uagv/v2/Corridor/T01/{kind}", _payload(msg)) == []


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"", b'{"headerId": NaN}', b"\xff\xfe\xfa", b"[" * 100_000],
    ids=["syntax", "empty", "nan", "not-utf8", "deep"],
)
def test_malformed_json_gives_one_problem(payload: bytes) -> None:
    problems = check_payload("uagv/v2/Corridor/T01/state", payload)
    assert len(problems) == 1 and problems[0].startswith("payload: not valid JSON"), problems


@pytest.mark.parametrize(
    "bad_topic", ["uagv/v2/Corridor/state", "uagv/v1/Corridor/T01/state", "uagv/v2/C/T01/zoneSet"]
)
def test_a_bad_topic_gives_one_problem(bad_topic: str) -> None:
    problems = check_payload(bad_topic, _payload(VALID["state"]))
    assert len(problems) == 1 and problems[0].startswith("topic: "), problems


def test_header_must_match_the_topic() -> None:
    problems = check_payload("uagv/v2/Other/T02/state", _payload(VALID["state"]))
    assert problems == [
        "manufacturer: is 'Corridor' but the topic says 'Other'",
        "serialNumber: is 'T01' but the topic says 'T02'",
    ]


def test_check_payload_reports_schema_problems_too() -> None:
    msg = _broken("connection", _set("connectionState", "ASLEEP"))
    assert check_payload("uagv/v2/Corridor/T01/connection", _payload(msg)) == [
        "connectionState: must be one of ONLINE, OFFLINE, CONNECTIONBROKEN"
    ]


# The project's own messages.


def _built_order(released_legs: int | None) -> Msg:
    lane_map = load_map(MAP)
    legs = lane_map.route("Z-CN", "Z-VN")
    body = build_order(lane_map, legs, "R-1.1", 0, "Z-CN", released_legs)
    return HeaderStamper("Corridor").stamp("T01", "order", body, 1_803_900_600.25)


@pytest.mark.parametrize("released_legs", [None, 3, 0])
def test_orders_built_by_the_controller_pass(
    released_legs: int | None, validators: dict[str, Any]
) -> None:
    order = _built_order(released_legs)
    assert check_message("order", order) == []
    assert check_payload(topic("Corridor", "T01", "order"), _payload(order)) == []
    assert _schema_problem_paths(validators["order"], order) == set()


def _emulator_state(order: Msg, legs_driven: int, errors: list[Msg]) -> Msg:
    """What sim/corridor_sim/truck_emulator.py EmulatedTruck.state_body builds, stamped."""
    end = order["nodes"][legs_driven]
    pending = order["nodes"][legs_driven + 1 :]
    edges = order["edges"][legs_driven:]
    body = {
        "orderId": order["orderId"],
        "orderUpdateId": order["orderUpdateId"],
        "lastNodeId": end["nodeId"],
        "lastNodeSequenceId": end["sequenceId"],
        "nodeStates": [
            {"nodeId": n["nodeId"], "sequenceId": n["sequenceId"], "released": n["released"]}
            for n in pending
        ],
        "edgeStates": [
            {"edgeId": e["edgeId"], "sequenceId": e["sequenceId"], "released": e["released"]}
            for e in edges
        ],
        "driving": bool(edges),
        "actionStates": [],
        "batteryState": {"batteryCharge": 100.0, "charging": False},
        "operatingMode": "AUTOMATIC",
        "errors": errors,
        "safetyState": {"eStop": "NONE", "fieldViolation": False},
        "agvPosition": {
            "x": float(end["nodePosition"]["x"]),
            "y": float(end["nodePosition"]["y"]),
            "theta": 0.0,
            "mapId": "tan-thanh-puzhai-2027",
            "positionInitialized": True,
        },
    }
    return HeaderStamper("Corridor").stamp("T01", "state", body, 1_803_900_601.0)


REJECTION = {  # EmulatedTruck._reject
    "errorType": "orderError",
    "errorLevel": "WARNING",
    "errorDescription": "OTHER_ORDER_ACTIVE",
    "errorReferences": [],
}


@pytest.mark.parametrize(("legs_driven", "errors"), [(0, []), (3, []), (7, [REJECTION])])
def test_states_as_the_truck_emulator_sends_them_pass(
    legs_driven: int, errors: list[Msg], validators: dict[str, Any]
) -> None:
    state = _emulator_state(_built_order(None), legs_driven, errors)
    assert check_payload(topic("Corridor", "T01", "state"), _payload(state)) == []
    assert _schema_problem_paths(validators["state"], state) == set()


@pytest.mark.parametrize("connection_state", ["CONNECTIONBROKEN", "ONLINE", "OFFLINE"])
def test_connection_messages_as_the_truck_emulator_sends_them_pass(connection_state: str) -> None:
    body = {"connectionState": connection_state}
    msg = HeaderStamper("Corridor").stamp("T01", "connection", body, 1_803_900_600.0)
    assert check_payload(topic("Corridor", "T01", "connection"), _payload(msg)) == []
