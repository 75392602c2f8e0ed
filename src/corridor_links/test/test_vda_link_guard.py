"""No message a truck can publish stops the controller's link from hearing the fleet.

Over a real mosquitto: a truck publishes hostile ``state`` payloads (wrong types, a 400-digit
number, NaN, 10,000 levels of nesting, a megabyte of JSON) and then a valid state. The link
must turn each hostile one into an :class:`InboundProblem`, count it, and still deliver the valid
state: a message that raises on paho's network thread kills its receive loop, and with it every
truck's state.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from corridor_core.vda5050 import HeaderStamper, StateReport
from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.vda_link import InboundProblem, LinkStatus, VdaLink

M = "CorridorSim"
STATE_T01 = f"uagv/v2/{M}/T01/state"


def _state(header_id: int, **changes: Any) -> bytes:
    body = {
        "orderId": "R-1.1",
        "orderUpdateId": 0,
        "lastNodeId": "B0",
        "lastNodeSequenceId": 8,
        "nodeStates": [{"nodeId": "PB", "sequenceId": 10, "released": True}],
        "edgeStates": [],
        "driving": True,
        "actionStates": [],
        "batteryState": {"batteryCharge": 80.0, "charging": False},
        "operatingMode": "AUTOMATIC",
        "errors": [],
        "agvPosition": {"x": 2450.0, "y": 0.0, "theta": 0.0, "mapId": "m"},
    }
    msg = HeaderStamper(M).stamp("T01", "state", body, 0.0)
    msg["headerId"] = header_id
    msg.update(changes)
    return json.dumps(msg).encode()


def _position(x: Any) -> dict[str, Any]:
    return {"x": x, "y": 0.0, "theta": 0.0, "mapId": "m"}


HOSTILE: dict[str, bytes] = {
    "x is a string": _state(1, agvPosition=_position("abc")),
    "x is a list": _state(2, agvPosition=_position([1.0])),
    "x has 400 digits": _state(3, agvPosition=_position(int("9" * 400))),
    "x is NaN": _state(4).replace(b'"x": 2450.0', b'"x": NaN'),
    "x is Infinity": _state(5).replace(b'"x": 2450.0', b'"x": Infinity'),
    "10,000 nested lists": b"[" * 10_000 + b"]" * 10_000,
    "10,000 nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "deep nesting inside a state": _state(6, information=json.loads("[" * 500 + "]" * 500)),
    "battery charge of 400 digits": _state(7, batteryState={"batteryCharge": int("9" * 400)}),
    "headerId beyond uint32": _state(2**40),
    "errors entry is a string": _state(8, errors=["boom"]),
    "actionId is an object": _state(
        9, actionStates=[{"actionId": {"a": 1}, "actionStatus": "RUNNING"}]
    ),
    "a megabyte of JSON": _state(10, padding="x" * 1_000_000),
    "not UTF-8": b'{"headerId": "\xff"}',
    "root is a list": b"[1, 2, 3]",
}


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, M, ["T01"])
    server.start()
    yield server
    server.cleanup()


def _truck(broker: Mosquitto) -> mqtt.Client:
    connected: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set("T01", broker.passwords["T01"])
    client.on_connect = lambda c, u, f, reason, p: connected.put(reason.is_failure)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert connected.get(timeout=5) is False
    return client


def test_hostile_states_become_problems_and_the_link_keeps_hearing(broker: Mosquitto) -> None:
    link = VdaLink("127.0.0.1", broker.port, CONTROLLER_USER, broker.passwords[CONTROLLER_USER], M)
    link.start()
    truck = _truck(broker)
    try:
        deadline = time.monotonic() + 10
        while not link.is_connected():
            assert time.monotonic() < deadline, "the link did not connect"
            time.sleep(0.05)
        time.sleep(0.3)  # the subscriptions are acknowledged after the connection
        for payload in HOSTILE.values():
            truck.publish(STATE_T01, payload, qos=1).wait_for_publish(5)
        truck.publish(STATE_T01, _state(100), qos=1).wait_for_publish(5)

        problems: list[InboundProblem] = []
        reports: list[StateReport] = []
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            try:
                item = link.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, InboundProblem):
                problems.append(item)
            elif isinstance(item, StateReport):
                reports.append(item)
            else:
                assert isinstance(item, LinkStatus)
        assert [r.header_id for r in reports] == [100], (
            f"the valid state after {len(HOSTILE)} hostile ones did not arrive; "
            f"problems seen: {[p.text[:80] for p in problems]}"
        )
        assert len(problems) == len(HOSTILE), [p.text[:80] for p in problems]
        assert all(p.topic == STATE_T01 for p in problems)
        assert link.refused == len(HOSTILE)
    finally:
        truck.loop_stop()
        link.stop()


def test_the_guard_turns_a_failing_decode_into_a_problem() -> None:
    """Even what the codec does not foresee (here a topic that is not UTF-8, which paho's
    ``MQTTMessage.topic`` fails to decode) becomes a counted problem, not an exception."""
    link = VdaLink("127.0.0.1", 1, CONTROLLER_USER, "unused", M)  # never started
    message = mqtt.MQTTMessage(topic=b"uagv/v2/" + M.encode() + b"/T\xff/state")
    message.payload = _state(1)
    link._on_message(link.client, None, message)
    item = link.inbox.get_nowait()
    assert isinstance(item, InboundProblem) and "decoder failed: UnicodeDecodeError" in item.text
    assert link.refused == 1
