"""Persistent MQTT 5 sessions survive a broker restart (and a crash): no QoS 1 order is lost.

A real mosquitto is stopped (SIGTERM, or SIGKILL for a crash) and started again on the same
port; the clients are paho MQTT 5 clients with fixed ids, ``clean_start=False`` and a session
expiry, as the trucks and the controller link use.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.tls import configure_client_tls
from corridor_links.vda_link import ConnectionReport, LinkStatus, VdaLink

M = "CorridorSim"
ORDER_T01 = f"uagv/v2/{M}/T01/order"


@pytest.fixture(params=[False, True], ids=["tcp", "tls"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, M, ["T01", "T02"], tls=request.param)
    server.start()
    yield server
    server.cleanup()


class Session:
    """A paho client with a persistent session: fixed id, clean_start False, expiry 3600 s."""

    def __init__(self, broker: Mosquitto, user: str, client_id: str) -> None:
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connects: queue.Queue[tuple[bool, bool]] = queue.Queue()  # (ok, session_present)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(user, broker.passwords[user])
        if broker.ca_path is not None:
            configure_client_tls(self.client, broker.ca_path)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.inbox.put(m)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
        self.client.loop_start()

    def _on_connect(self, c: mqtt.Client, u: Any, flags: Any, reason: Any, p: Any) -> None:
        self.connects.put((not reason.is_failure, bool(flags.session_present)))

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def close(self) -> None:
        """DISCONNECT (the broker keeps the session) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def _order(order_id: str) -> dict[str, Any]:
    return {"orderId": order_id, "orderUpdateId": 0, "nodes": [], "edges": []}


def _controller(broker: Mosquitto) -> VdaLink:
    link = VdaLink(
        "127.0.0.1",
        broker.port,
        CONTROLLER_USER,
        broker.passwords[CONTROLLER_USER],
        M,
        tls_ca=broker.ca_path,
    )
    link.reconnect_delay_set(0.1, 1)
    link.start()
    deadline = time.monotonic() + 5  # polled: the inbox may hold the session's queued messages
    while not link.is_connected():
        assert time.monotonic() < deadline, "controller link never connected"
        time.sleep(0.02)
    return link


def _next_report(link: VdaLink) -> object:
    """The next inbox item that is not the link's own status (the receiving connection may
    deliver the session's queued messages before the sending one is up)."""
    while True:
        item = link.inbox.get(timeout=5)
        if not isinstance(item, LinkStatus):
            return item


def _wait_link(link: VdaLink, connected: bool) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        item = link.inbox.get(timeout=5)
        if isinstance(item, LinkStatus) and item.connected == connected:
            return
    raise AssertionError(f"link never reported connected={connected}")


def _park_truck(broker: Mosquitto) -> None:
    """T01 makes a session subscribed (QoS 1) to its orders and goes away."""
    truck = Session(broker, "T01", "truck-T01")
    assert truck.connects.get(timeout=5)[0]
    truck.subscribe(ORDER_T01)
    truck.close()


def _order_ids(messages: list[mqtt.MQTTMessage]) -> list[str]:
    return [json.loads(m.payload)["orderId"] for m in messages]


def test_order_queued_for_an_offline_truck_survives_a_restart(broker: Mosquitto) -> None:
    _park_truck(broker)
    controller = Session(broker, CONTROLLER_USER, "test-controller")
    assert controller.connects.get(timeout=5)[0]
    sent = controller.client.publish(ORDER_T01, json.dumps(_order("o-1")), qos=1)
    sent.wait_for_publish(5)  # PUBACK: the broker holds it now, paho no longer does
    assert sent.is_published()
    controller.close()
    port, ca = broker.port, broker.ca_path
    broker.restart()
    assert (broker.port, broker.ca_path) == (port, ca)
    truck = Session(broker, "T01", "truck-T01")  # no new SUBSCRIBE: the session has it
    assert truck.connects.get(timeout=5) == (True, True)
    message = truck.inbox.get(timeout=5)
    assert (message.topic, message.qos) == (ORDER_T01, 1)
    assert _order_ids([message]) == ["o-1"]
    truck.close()


def test_queued_order_survives_a_crash_after_autosave(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, M, ["T01"], autosave_interval_s=1)
    broker.start()
    try:
        _park_truck(broker)
        controller = Session(broker, CONTROLLER_USER, "test-controller")
        assert controller.connects.get(timeout=5)[0]
        controller.client.publish(ORDER_T01, json.dumps(_order("o-1")), qos=1).wait_for_publish(5)
        controller.close()
        time.sleep(2.2)  # > autosave_interval_s (mosquitto checks about once a second)
        broker.kill()  # SIGKILL: no save at exit, only the autosave
        broker.start()
        truck = Session(broker, "T01", "truck-T01")
        assert truck.connects.get(timeout=5) == (True, True)
        assert _order_ids([truck.inbox.get(timeout=5)]) == ["o-1"]
        truck.close()
    finally:
        broker.cleanup()


def test_orders_sent_right_before_a_restart_are_not_lost(broker: Mosquitto) -> None:
    truck = Session(broker, "T01", "truck-T01")
    assert truck.connects.get(timeout=5)[0]
    truck.subscribe(ORDER_T01)
    link = _controller(broker)
    wanted = [f"o-{i}" for i in range(20)]
    for order_id in wanted:
        link.send_order("T01", _order(order_id))
    broker.restart()  # at once: orders may be in paho, in the broker or on the way to T01
    assert truck.connects.get(timeout=5) == (True, True)
    _wait_link(link, connected=True)
    link.send_order("T01", _order("after"))
    got: list[mqtt.MQTTMessage] = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not set([*wanted, "after"]) <= set(_order_ids(got)):
        with contextlib.suppress(queue.Empty):
            got.append(truck.inbox.get(timeout=0.2))
    assert set(_order_ids(got)) == {*wanted, "after"}  # QoS 1: at least once, duplicates allowed
    link.stop()
    truck.close()


def test_acknowledged_order_to_a_connected_truck_survives_an_immediate_restart(
    broker: Mosquitto,
) -> None:
    truck = Session(broker, "T01", "truck-T01")
    assert truck.connects.get(timeout=5)[0]
    truck.subscribe(ORDER_T01)
    controller = Session(broker, CONTROLLER_USER, "test-controller")
    assert controller.connects.get(timeout=5)[0]
    controller.client.publish(ORDER_T01, json.dumps(_order("o-1")), qos=1).wait_for_publish(5)
    broker.restart()  # the broker acknowledged it: now only the broker can deliver it
    got = [truck.inbox.get(timeout=5)]
    assert _order_ids(got) == ["o-1"] and got[0].qos == 1
    controller.close()
    truck.close()


def test_controller_session_keeps_truck_messages_across_a_restart(broker: Mosquitto) -> None:
    link = _controller(broker)
    link.stop()  # the session (subscriptions on state and connection) stays on the broker
    truck = Session(broker, "T01", "truck-T01")
    assert truck.connects.get(timeout=5)[0]
    online = {
        "headerId": 0,
        "timestamp": "2027-01-01T00:00:00.000Z",
        "version": "2.0.0",
        "manufacturer": M,
        "serialNumber": "T01",
        "connectionState": "ONLINE",
    }
    topic = f"uagv/v2/{M}/T01/connection"
    truck.client.publish(topic, json.dumps(online), qos=1).wait_for_publish(5)  # not retained
    truck.close()
    broker.restart()
    link = _controller(broker)
    item = _next_report(link)
    assert item == ConnectionReport(M, "T01", "ONLINE")
    link.stop()
