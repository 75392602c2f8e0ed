"""The project's mosquitto: passwords, no anonymous access, per-truck ACL tested by delivery."""

import json
import queue
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.vda_link import ConnectionReport, InboundProblem, VdaLink

M = "CorridorSim"


@pytest.fixture()
def broker(tmp_path: Path):
    server = Mosquitto(tmp_path, M, ["T01", "T02"])
    server.start()
    yield server
    server.cleanup()


def _client(broker: Mosquitto, user: str | None, password: str | None = None):
    inbox: queue.Queue = queue.Queue()
    connected: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if user:
        client.username_pw_set(user, password or broker.passwords[user])
    client.on_message = lambda c, u, m: inbox.put((m.topic, m.payload))
    client.on_connect = lambda c, u, f, reason, p: connected.put(reason.is_failure)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    failed = connected.get(timeout=5)
    return client, inbox, failed


def _subscribe(client, topic: str) -> None:
    client.subscribe(topic, qos=1)
    time.sleep(0.2)


def test_anonymous_and_wrong_password_are_refused(broker: Mosquitto) -> None:
    client, _, failed = _client(broker, None)
    assert failed
    client.loop_stop()
    client, _, failed = _client(broker, "T01", "wrong")
    assert failed
    client.loop_stop()


def test_orders_reach_only_their_truck(broker: Mosquitto) -> None:
    t1, inbox1, _ = _client(broker, "T01")
    t2, inbox2, _ = _client(broker, "T02")
    _subscribe(t1, f"uagv/v2/{M}/T01/order")
    _subscribe(t2, f"uagv/v2/{M}/T01/order")  # granted by the broker, but must deliver nothing
    controller, _, _ = _client(broker, CONTROLLER_USER)
    controller.publish(f"uagv/v2/{M}/T01/order", b"{}", qos=1).wait_for_publish(5)
    assert inbox1.get(timeout=5)[0] == f"uagv/v2/{M}/T01/order"
    time.sleep(0.5)
    assert inbox2.empty()
    for c in (t1, t2, controller):
        c.loop_stop()


def test_a_truck_cannot_publish_another_trucks_state(broker: Mosquitto) -> None:
    controller, inbox, _ = _client(broker, CONTROLLER_USER)
    _subscribe(controller, f"uagv/v2/{M}/+/state")
    t2, _, _ = _client(broker, "T02")
    t2.publish(f"uagv/v2/{M}/T01/state", b"forged", qos=1).wait_for_publish(5)
    t2.publish(f"uagv/v2/{M}/T02/state", b"own", qos=1).wait_for_publish(5)
    assert inbox.get(timeout=5) == (f"uagv/v2/{M}/T02/state", b"own")
    time.sleep(0.5)
    assert inbox.empty()
    for c in (controller, t2):
        c.loop_stop()


def test_controller_link_turns_malformed_messages_into_problems(broker: Mosquitto) -> None:
    link = VdaLink("127.0.0.1", broker.port, CONTROLLER_USER, broker.passwords[CONTROLLER_USER], M)
    link.start()
    truck, _, _ = _client(broker, "T01")
    time.sleep(0.5)
    truck.publish(f"uagv/v2/{M}/T01/state", b"{not json", qos=1).wait_for_publish(5)
    online = {
        "headerId": 0,
        "timestamp": "2027-01-01T00:00:00.000Z",
        "version": "2.0.0",
        "manufacturer": M,
        "serialNumber": "T01",
        "connectionState": "ONLINE",
    }
    truck.publish(f"uagv/v2/{M}/T01/connection", json.dumps(online), qos=1).wait_for_publish(5)
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(seen) < 2:
        item = link.inbox.get(timeout=5)
        if isinstance(item, InboundProblem | ConnectionReport):
            seen.append(item)
    assert isinstance(seen[0], InboundProblem) and "not valid JSON" in seen[0].text
    assert seen[1] == ConnectionReport(M, "T01", "ONLINE")
    link.stop()
    truck.loop_stop()
