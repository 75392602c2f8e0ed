"""Decoding a VDA 5050 state message with every check, against bare ``json.loads``.

Shows what validation costs per message on the controller's hot path (200 trucks at 1 Hz is
200 decodes a second; the target keeps the checked decode within 3x of parsing alone).
"""

from __future__ import annotations

import json
import time

from corridor_core.vda5050 import HeaderStamper, parse_state

NAME = "vda_state_decode"
METRIC = "µs per state message"
BASELINE_NAME = "json.loads only"
TARGET = "ratio <= 3.0"
N = 20_000


def _payload() -> bytes:
    body = {
        "orderId": "R-001.1",
        "orderUpdateId": 3,
        "lastNodeId": "B0",
        "lastNodeSequenceId": 8,
        "nodeStates": [
            {"nodeId": n, "sequenceId": 10 + 2 * i, "released": True}
            for i, n in enumerate(["PB", "G-VN", "Z-VN"])
        ],
        "edgeStates": [
            {"edgeId": f"E{i}", "sequenceId": 9 + 2 * i, "released": True} for i in range(3)
        ],
        "driving": True,
        "actionStates": [],
        "batteryState": {"batteryCharge": 71.5},
        "operatingMode": "AUTOMATIC",
        "errors": [],
        "agvPosition": {"x": 2450.0, "y": 0.0},
    }
    return json.dumps(HeaderStamper("CorridorSim").stamp("T01", "state", body, 0.0)).encode()


def _per_message_us(fn, payload: bytes) -> float:
    start = time.perf_counter()
    for _ in range(N):
        fn(payload)
    return (time.perf_counter() - start) / N * 1e6


def measure() -> tuple[float, float]:
    payload = _payload()
    return _per_message_us(parse_state, payload), _per_message_us(json.loads, payload)


def met(ours: float, baseline: float) -> bool:
    return ours / baseline <= 3.0
