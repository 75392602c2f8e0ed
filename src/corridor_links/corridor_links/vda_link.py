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
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from corridor_core.errors import ProtocolError
from corridor_core.vda5050 import HeaderStamper, StateReport, parse_connection, parse_state
from corridor_core.vda5050 import parse_topic as parse_vda_topic
from corridor_core.vda5050 import topic as vda_topic
from corridor_links.tls import CertPair, configure_client_tls

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
    """One MQTT 5 connection of the controller to the broker, with a persistent session.

    The session (fixed ``client_id``, ``clean_start=False``, session expiry
    ``session_expiry_s``) keeps the controller's QoS 1 subscriptions and queues QoS 1 messages
    for it while it is away, across broker restarts; paho resends unacknowledged QoS 1 orders
    after a reconnect. Two links with the same ``client_id`` take the session from each other.

    Args:
        host: broker host.
        port: broker port (TLS port if ``tls_ca`` is given).
        username: the controller's account.
        password: its password.
        manufacturer: VDA 5050 manufacturer of the fleet (topic level).
        client_id: MQTT client id; fixed so that the session can be resumed.
        tls_ca: CA certificate that signed the broker's; None for plain MQTT.
        tls_client_cert: certificate and key for a broker that requires client certificates.
        session_expiry_s: how long the broker keeps the session after a disconnect.

    Raises:
        TlsError: a TLS file is missing or unusable.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        manufacturer: str,
        client_id: str = "corridor-controller",
        *,
        tls_ca: Path | None = None,
        tls_client_cert: CertPair | None = None,
        session_expiry_s: int = 3600,
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
        if tls_ca is not None:
            configure_client_tls(self.client, tls_ca, tls_client_cert)
        self._connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_properties.SessionExpiryInterval = session_expiry_s
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 5)

    def start(self) -> None:
        """Connect in the background; reconnects by itself."""
        self.client.connect_async(
            self._host,
            self._port,
            keepalive=10,
            clean_start=False,
            properties=self._connect_properties,
        )
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

    def send_instant_actions(self, serial: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
        """Stamp and publish an ``instantActions`` message (QoS 1). Returns the message sent."""
        with self._lock:
            msg = self.stamper.stamp(serial, "instantActions", {"actions": actions}, time.time())
        topic = vda_topic(self.manufacturer, serial, "instantActions")
        self.client.publish(topic, json.dumps(msg), qos=1)
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
