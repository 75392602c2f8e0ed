"""The controller's MQTT side of VDA 5050: orders out, state and connection in.

paho's network thread only decodes (pure codec in :mod:`corridor_core.vda5050`) and enqueues
onto :attr:`VdaLink.inbox`; the owning node drains it on its own executor. A malformed,
unknown or out-of-order message becomes an :class:`InboundProblem`, never an exception: an
exception on paho's thread ends its receive loop, and the controller would hear no truck again.
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
from corridor_core.vda5050 import (
    FactsheetReport,
    HeaderStamper,
    StateReport,
    parse_connection,
    parse_factsheet,
    parse_state,
)
from corridor_core.vda5050 import parse_topic as parse_vda_topic
from corridor_core.vda5050 import topic as vda_topic
from corridor_links.tls import CertPair, configure_client_tls

LOG = logging.getLogger(__name__)
SUBSCRIBED = ("state", "connection", "factsheet")
"""The topics the controller hears from every truck (its receive connection subscribes to
each, for every serial)."""


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


Inbound = StateReport | ConnectionReport | FactsheetReport | InboundProblem | LinkStatus


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
        if name == "factsheet":
            sheet = parse_factsheet(payload, f"factsheet from {serial}")
            if sheet.serial != serial or sheet.manufacturer != manufacturer:
                return InboundProblem(mqtt_topic, "header names another vehicle than the topic")
            return sheet
        return InboundProblem(mqtt_topic, f"topic {name!r} is not consumed by the controller")
    except ProtocolError as exc:
        return InboundProblem(mqtt_topic, str(exc))


class VdaLink:
    """The controller's two MQTT 5 connections to the broker, both with persistent sessions.

    ``client`` (client id ``client_id``) subscribes to every truck's ``state`` and
    ``connection``; its network thread decodes them onto :attr:`inbox`. ``sender`` (client id
    ``<client_id>-tx``) only publishes orders and instant actions, so an order never queues
    behind the decoding of incoming states: with 200 trucks at 1 Hz that thread is busy a good
    part of the time. One sender keeps orders and instant actions to a truck in send order.

    The sessions (fixed client ids, ``clean_start=False``, session expiry ``session_expiry_s``)
    keep the QoS 1 subscriptions and queue QoS 1 messages for the controller while it is away,
    across broker restarts; paho resends unacknowledged QoS 1 orders after a reconnect. Two links
    with the same ``client_id`` take the sessions from each other.

    :attr:`inbox` gets ``LinkStatus(True)`` once both connections are up and ``LinkStatus(False)``
    when either goes down. Every message refused (malformed, unknown topic, stale, or one the
    decoder failed on) reaches :attr:`inbox` as an :class:`InboundProblem` naming its topic and
    the rule broken, and counts in :attr:`refused`; the node that drains the inbox logs it.

    Args:
        host: broker host.
        port: broker port (TLS port if ``tls_ca`` is given).
        username: the controller's account.
        password: its password.
        manufacturer: VDA 5050 manufacturer of the fleet (topic level).
        client_id: MQTT client id of the receiving connection; the sender's adds ``-tx``.
        tls_ca: CA certificate that signed the broker's; None for plain MQTT.
        tls_client_cert: certificate and key for a broker that requires client certificates.
        session_expiry_s: how long the broker keeps the sessions after a disconnect.

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
        self.refused = 0  # messages turned into an InboundProblem, for any reason
        self._refused_lock = threading.Lock()
        self._host, self._port = host, port
        self._up = {"receive": False, "send": False}
        self._up_lock = threading.Lock()  # never held around paho calls
        self._subscribe_mid: int | None = None
        self._connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_properties.SessionExpiryInterval = session_expiry_s
        self.client = self._make_client(client_id, username, password, tls_ca, tls_client_cert)
        self.sender = self._make_client(
            f"{client_id}-tx", username, password, tls_ca, tls_client_cert
        )
        self.client.on_connect = lambda c, u, f, r, p: self._on_connect("receive", c, r)
        self.sender.on_connect = lambda c, u, f, r, p: self._on_connect("send", c, r)
        self.client.on_disconnect = lambda c, u, f, r, p: self._on_disconnect("receive", r)
        self.sender.on_disconnect = lambda c, u, f, r, p: self._on_disconnect("send", r)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._on_subscribed(mid, rcs)
        self.client.on_message = self._on_message

    @staticmethod
    def _make_client(
        client_id: str,
        username: str,
        password: str,
        tls_ca: Path | None,
        tls_client_cert: CertPair | None,
    ) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        client.username_pw_set(username, password)
        if tls_ca is not None:
            configure_client_tls(client, tls_ca, tls_client_cert)
        client.reconnect_delay_set(0.2, 5)
        return client

    def reconnect_delay_set(self, min_delay_s: float, max_delay_s: float) -> None:
        """Set both connections' reconnect back-off."""
        for client in (self.client, self.sender):
            client.reconnect_delay_set(min_delay_s, max_delay_s)  # type: ignore[arg-type]

    def is_connected(self) -> bool:
        """Both connections are up and the broker has acknowledged the subscriptions."""
        with self._up_lock:
            up = all(self._up.values())
        return bool(up and self.client.is_connected() and self.sender.is_connected())

    def start(self) -> None:
        """Connect both in the background; each reconnects by itself."""
        for client in (self.sender, self.client):
            client.connect_async(
                self._host,
                self._port,
                keepalive=10,
                clean_start=False,
                properties=self._connect_properties,
            )
            client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network threads."""
        for client in (self.client, self.sender):
            client.disconnect()
            client.loop_stop()

    def send_order(self, serial: str, body: dict[str, Any]) -> dict[str, Any]:
        """Stamp a header on an order body and publish it (QoS 1). Returns the message sent."""
        return self._send(serial, "order", body)

    def send_instant_actions(self, serial: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
        """Stamp and publish an ``instantActions`` message (QoS 1). Returns the message sent."""
        return self._send(serial, "instantActions", {"actions": actions})

    def _send(self, serial: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        # One lock around stamp and publish: headerIds reach the broker in counting order.
        with self._lock:
            msg = self.stamper.stamp(serial, name, body, time.time())
            payload = json.dumps(msg, separators=(",", ":"))
            self.sender.publish(vda_topic(self.manufacturer, serial, name), payload, qos=1)
        return msg

    def _on_connect(self, role: str, client: mqtt.Client, reason: Any) -> None:
        if reason.is_failure:
            self.inbox.put(LinkStatus(False, f"broker refused the controller ({role}): {reason}"))
            return
        if role == "receive":
            # up once the broker has acknowledged the subscriptions (before that, a truck's
            # message would not reach this session): see _on_subscribed
            topics = [(vda_topic(self.manufacturer, "+", n), 1) for n in SUBSCRIBED]
            _, mid = client.subscribe(topics)
            with self._up_lock:
                self._subscribe_mid = mid
            return
        self._mark_up(role)

    def _on_subscribed(self, mid: int, reason_codes: Any) -> None:
        with self._up_lock:
            ours = mid == self._subscribe_mid
        if not ours:
            return
        refused = [str(rc) for rc in reason_codes if getattr(rc, "is_failure", False)]
        if refused:
            text = f"broker refused the controller's subscriptions: {', '.join(refused)}"
            self.inbox.put(LinkStatus(False, text))
            return
        self._mark_up("receive")

    def _mark_up(self, role: str) -> None:
        with self._up_lock:
            was_up = all(self._up.values())
            self._up[role] = True
            now_up = all(self._up.values())
        if now_up and not was_up:
            self.inbox.put(LinkStatus(True, f"connected to broker {self._host}:{self._port}"))

    def _on_disconnect(self, role: str, reason: Any) -> None:
        with self._up_lock:
            self._up[role] = False
        self.inbox.put(LinkStatus(False, f"lost broker ({role} connection): {reason}"))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # The one guard on paho's thread: nothing a truck sends may raise out of here.
        mqtt_topic = "?"
        try:
            mqtt_topic = message.topic
            item = self._accept(mqtt_topic, decode(mqtt_topic, message.payload))
        except Exception as exc:  # a codec defect: refuse the message, keep the loop alive
            LOG.exception("refused a message on %s: the decoder failed", mqtt_topic)
            item = InboundProblem(mqtt_topic, f"decoder failed: {type(exc).__name__}: {exc}")
        if isinstance(item, InboundProblem):
            with self._refused_lock:
                self.refused += 1
                count = self.refused
            LOG.debug("refused message #%d on %s: %s", count, item.topic, item.text)
        self.inbox.put(item)

    def _accept(self, mqtt_topic: str, item: Inbound) -> Inbound:
        """``item``, or a problem when it is a state older than the last one on its topic."""
        if isinstance(item, StateReport):
            # headerId counts up per topic; an older one is stale or out of order.
            last = self._last_header.get(mqtt_topic)
            if last is not None and item.header_id <= last and item.header_id != 0:
                return InboundProblem(
                    mqtt_topic, f"stale state headerId {item.header_id} (last {last}) dropped"
                )
            self._last_header[mqtt_topic] = item.header_id
        return item
