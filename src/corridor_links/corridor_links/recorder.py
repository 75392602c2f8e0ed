"""Record every VDA 5050 message on the broker into a JSON-lines file, for replay and checks.

One line per message, in arrival order::

    {"t": 1790000000.123, "topic": "uagv/v2/M/T01/state", "qos": 0, "retain": false,
     "payload": {...}}

``t`` is the recorder's wall clock (epoch seconds) at arrival; ``qos`` is the QoS of the
delivery (at most the subscription's, 1); ``retain`` is true only for a retained message sent
because the recorder subscribed (live messages arrive with retain false, as MQTT delivers them).
``payload`` is the decoded JSON when the payload is a JSON object or array, else the payload as
a UTF-8 string (JSON scalars and malformed JSON included), else base64 with
``"payload_b64": true``. Each line is flushed as it is written, so a crash of the recording
process loses nothing already received.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as mqtt

from corridor_core.errors import CorridorError
from corridor_links.tls import CertPair, configure_client_tls

RECORDER_CLIENT_ID = "corridor-recorder"
LOG = logging.getLogger(__name__)


class RecorderError(CorridorError):
    """The recorder could not connect or subscribe, or a recording cannot be read."""


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; such a payload is kept as text.
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf, which cannot be written back as JSON
        raise ValueError(f"{text} is out of range")
    return value


def payload_fields(payload: bytes | bytearray) -> dict[str, Any]:
    """The ``payload`` (and ``payload_b64``) fields of a record for a raw MQTT payload.

    Example:
        >>> payload_fields(b'{"a": 1}')
        {'payload': {'a': 1}}
        >>> payload_fields(b"{not json")
        {'payload': '{not json'}
        >>> payload_fields(b"\\xff")
        {'payload': '/w==', 'payload_b64': True}
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return {"payload": base64.b64encode(payload).decode("ascii"), "payload_b64": True}
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError:
        return {"payload": text}
    # Only objects and arrays count as JSON: a scalar could not be told apart from raw text.
    return {"payload": value if isinstance(value, dict | list) else text}


def make_record(
    topic: str, qos: int, retain: bool, payload: bytes | bytearray, t: float | None = None
) -> dict[str, Any]:
    """One record; ``t`` defaults to the wall clock now (epoch seconds)."""
    record: dict[str, Any] = {
        "t": time.time() if t is None else t,
        "topic": topic,
        "qos": qos,
        "retain": retain,
    }
    record.update(payload_fields(payload))
    return record


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read a recording back, in file order.

    A last line without its newline (a write cut short by a crash) is ignored.

    Raises:
        RecorderError: a complete line is not a record; the message names file and line.
    """
    records: list[dict[str, Any]] = []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for number, line in enumerate(lines[:-1], start=1):  # lines[-1] is "" or a cut line
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise RecorderError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(record, dict) or not {"t", "topic", "qos", "retain"} <= record.keys():
            raise RecorderError(f"{path}:{number}: not a record (needs t, topic, qos, retain)")
        records.append(record)
    return records


class MqttRecorder:
    """Subscribes to ``uagv/#`` (QoS 1) and appends every message to a JSON-lines file.

    Use an account that may read all of ``uagv/`` (the controller's). The file is opened for
    appending at :meth:`start` and closed at :meth:`stop`; writing happens on paho's network
    thread, under a lock, so :attr:`count` and :meth:`stop` may be called from any thread.
    paho reconnects by itself after a broker restart and the subscription is renewed.

    Args:
        host: broker host.
        port: broker port (TLS port if ``tls_ca``).
        username: account that can read ``uagv/#``.
        password: its password.
        path: the JSON-lines file; parent folders are created.
        tls_ca: CA certificate of the broker; None for plain MQTT.
        tls_client_cert: for a broker that requires client certificates.
        client_id: MQTT client id; two recorders need two ids.
        topics: topic filters to record.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        path: Path,
        tls_ca: Path | None = None,
        *,
        tls_client_cert: CertPair | None = None,
        client_id: str = RECORDER_CLIENT_ID,
        topics: Sequence[str] = ("uagv/#",),
    ) -> None:
        self.path = path
        self._host, self._port = host, port
        self._topics = list(topics)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._count = 0
        self._write_errors = 0
        self._answered = threading.Event()  # set on SUBACK or on a refusal
        self._refused: str | None = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(username, password)
        if tls_ca is not None:
            configure_client_tls(self.client, tls_ca, tls_client_cert)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]  # floats work

    @property
    def count(self) -> int:
        """Messages written since the recorder was made."""
        with self._lock:
            return self._count

    @property
    def write_errors(self) -> int:
        """Messages that could not be written (e.g. disk full); each is logged."""
        with self._lock:
            return self._write_errors

    def start(self, timeout_s: float = 5.0) -> None:
        """Open the file, connect and return once the subscription is acknowledged.

        Raises:
            RecorderError: refused by the broker, or not subscribed within ``timeout_s``.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
        self._answered.clear()
        self._refused = None
        # A clean session every time: nothing is queued for the recorder while it is away.
        self.client.connect_async(self._host, self._port, keepalive=10, clean_start=True)
        self.client.loop_start()
        if not self._answered.wait(timeout_s) or self._refused is not None:
            reason = self._refused or f"no subscription within {timeout_s} s"
            self.stop()
            raise RecorderError(f"recorder on {self._host}:{self._port}: {reason}")

    def stop(self) -> None:
        """Disconnect and close the file. Safe to call twice."""
        self.client.disconnect()
        self.client.loop_stop()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = f"broker refused the recorder: {reason}"
            self._answered.set()
            return
        client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self._refused = f"subscription refused: {[str(r) for r in reasons]}"
        self._answered.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        record = make_record(message.topic, message.qos, bool(message.retain), message.payload)
        # ASCII only: no U+2028 or U+0085 that line-splitting tools would take for newlines.
        line = json.dumps(record, allow_nan=False) + "\n"
        with self._lock:
            if self._file is None:  # stopped while paho still delivered
                return
            try:
                self._file.write(line)
                self._file.flush()
            except OSError as exc:
                # Never raise on paho's thread: it would stop the network loop.
                self._write_errors += 1
                LOG.error("recorder cannot write %s: %s", self.path, exc)
                return
            self._count += 1
