"""The controller's MQTT side of VDA 5050: orders out, state and connection in.

paho's network thread only decodes (pure codec in :mod:`corridor_core.vda5050`) and enqueues
onto :attr:`VdaLink.inbox`; the owning node drains it on its own executor. A malformed,
unknown or out-of-order message becomes an :class:`InboundProblem`, never an exception.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from corridor_core.errors import ProtocolError
from corridor_core.vda5050 import HeaderStamper, StateReport, parse_connection, parse_state
from corridor_core.vda5050 import parse_topic as parse_vda_topic
from corridor_core.vda5050 import topic as vda_topic

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionReport:
    """A truck's connection topic."""

    manufacturer: str
    serial: str
    state: str


@dataclass(frozen=True)
class InboundProblem:
    """A message that was rejected, with the reason."""

    topic: str
    text: str


@dataclass(frozen=True)
class LinkStatus:
    """The link itself connected or lost the broker."""

    connected: bool
    text: str


Inbound = StateReport | ConnectionReport | InboundProblem | LinkStatus


def decode(mqtt_topic: str, payload: bytes) -> Inbound:
    """Decode one VDA 5050 message from a truck (never raises)."""
    try:
        manufacturer, serial, name = parse_vda_topic(mqtt_topic)
        if name == "state":
            report = parse_state(payload, f"state from {serial}")
            if report.serial != serial or report.manufacturer != manufacturer:
                return InboundProblem(mqtt_topic, "header names another vehicle than the topic")
            return report
        if name == "connection":
            msg_serial, state = parse_connection(payload, f"connection from {serial}")
            if msg_serial != serial:
                return InboundProblem(mqtt_topic, "header names another vehicle than the topic")
            return ConnectionReport(manufacturer, serial, state)
        return InboundProblem(mqtt_topic, f"topic {name!r} is not consumed by the controller")
    except ProtocolError as exc:
        return InboundProblem(mqtt_topic, str(exc))


class VdaLink:
    """One MQTT connection of the controller to the broker."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        manufacturer: str,
        client_id: str = "corridor-controller",
    ) -> None:
        self.manufacturer = manufacturer
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.stamper = HeaderStamper(manufacturer)
        self._lock = threading.Lock()
        self._last_header: dict[str, int] = {}
        self._host, self._port = host, port
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 5)

    def start(self) -> None:
        """Connect in the background; reconnects by itself."""
        self.client.connect_async(self._host, self._port, keepalive=10)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def send_order(self, serial: str, body: dict[str, Any]) -> dict[str, Any]:
        """Stamp a header on an order body and publish it (QoS 1). Returns the message sent."""
        with self._lock:
            msg = self.stamper.stamp(serial, "order", body, time.time())
        self.client.publish(vda_topic(self.manufacturer, serial, "order"), json.dumps(msg), qos=1)
        return msg

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self.inbox.put(LinkStatus(False, f"broker refused the controller: {reason}"))
            return
        for name in ("state", "connection"):
            client.subscribe(vda_topic(self.manufacturer, "+", name), qos=1)
        self.inbox.put(LinkStatus(True, f"connected to broker {self._host}:{self._port}"))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.inbox.put(LinkStatus(False, f"lost broker: {reason}"))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = decode(message.topic, message.payload)
        if isinstance(item, StateReport):
            # headerId counts up per topic; an older one is stale or out of order.
            last = self._last_header.get(message.topic)
            if last is not None and item.header_id <= last and item.header_id != 0:
                item = InboundProblem(
                    message.topic, f"stale state headerId {item.header_id} (last {last}) dropped"
                )
            else:
                self._last_header[message.topic] = item.header_id
        self.inbox.put(item)
