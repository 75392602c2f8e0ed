"""The broker's TLS option with a real mosquitto: trust, refusal, passwords and ACL over TLS."""

from __future__ import annotations

import json
import queue
import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.tls import CertPair, configure_client_tls, make_tls_files
from corridor_links.vda_link import LinkStatus, VdaLink

M = "CorridorSim"
ORDER_T01 = f"uagv/v2/{M}/T01/order"


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, M, ["T01", "T02"], tls=True)
    server.start()
    yield server
    server.cleanup()


class Probe:
    """A paho MQTT 5 client that records its connect outcome and the messages it receives."""

    def __init__(
        self,
        broker: Mosquitto,
        user: str | None,
        password: str | None = None,
        *,
        ca: Path | None = None,
        cert: CertPair | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.answer: queue.Queue[bool] = queue.Queue()  # True: CONNACK success
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user:
            self.client.username_pw_set(user, password or broker.passwords[user])
        if context is not None:
            self.client.tls_set_context(context)
        elif ca is not None:
            configure_client_tls(self.client, ca, cert)
        self.client.on_connect = lambda c, u, f, reason, p: self.answer.put(not reason.is_failure)
        self.client.on_disconnect = lambda c, u, f, reason, p: self.answer.put(False)
        self.client.on_message = lambda c, u, m: self.inbox.put(m)
        self.error: OSError | None = None
        try:
            self.client.connect("127.0.0.1", broker.port)
        except OSError as exc:  # TLS handshake refused (ssl.SSLError is an OSError)
            self.error = exc
            self.connected = False
            return
        self.client.loop_start()
        try:
            self.connected = self.answer.get(timeout=5)
        except queue.Empty:
            self.connected = False

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_certificates_verify_with_both_backends(tmp_path: Path) -> None:
    for backend in ("cryptography", "openssl"):
        files = make_tls_files(tmp_path / backend, ["T01"], backend=backend)
        for key in (files.ca_key, files.server.key, files.clients["T01"].key):
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(files.server.cert, files.server.key)
        server_ctx.load_verify_locations(files.ca_cert)
        server_ctx.verify_mode = ssl.CERT_REQUIRED  # also checks the client certificate
        client_ctx = ssl.create_default_context(cafile=str(files.ca_cert))
        client_ctx.load_cert_chain(files.clients["T01"].cert, files.clients["T01"].key)
        for host in ("127.0.0.1", "localhost"):  # both are in the server's SAN
            peer = _handshake(server_ctx, client_ctx, host)
            assert dict(x[0] for x in peer["subject"])["commonName"] == "T01"


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, host: str) -> dict[str, Any]:
    """Handshake over loopback; returns the client certificate the server saw."""
    seen: queue.Queue[Any] = queue.Queue()
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                seen.put(tls.getpeercert())

        thread = threading.Thread(target=serve)
        thread.start()
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname=host),
        ):
            peer = seen.get(timeout=5)
        thread.join(5)
    return dict(peer)


def test_an_order_reaches_its_truck_over_tls(broker: Mosquitto) -> None:
    assert broker.ca_path is not None and broker.ca_path.is_file()
    truck = Probe(broker, "T01", ca=broker.ca_path)
    assert truck.connected
    sock = truck.client.socket()
    assert isinstance(sock, ssl.SSLSocket) and sock.version() in ("TLSv1.2", "TLSv1.3")
    truck.subscribe(ORDER_T01)
    link = VdaLink(
        "127.0.0.1",
        broker.port,
        CONTROLLER_USER,
        broker.passwords[CONTROLLER_USER],
        M,
        tls_ca=broker.ca_path,
    )
    link.start()
    status = link.inbox.get(timeout=5)
    assert isinstance(status, LinkStatus) and status.connected
    sent = link.send_order("T01", {"orderId": "o-1", "orderUpdateId": 0, "nodes": [], "edges": []})
    message = truck.inbox.get(timeout=5)
    assert message.topic == ORDER_T01 and message.qos == 1
    assert json.loads(message.payload)["orderId"] == "o-1" and sent["serialNumber"] == "T01"
    link.stop()
    truck.close()


def test_plain_tcp_client_is_refused_on_the_tls_port(broker: Mosquitto) -> None:
    plain = Probe(broker, "T01")  # right password, no TLS
    assert not plain.connected and plain.error is None  # TCP accepted, then closed: no CONNACK
    plain.close()


def test_a_client_that_does_not_trust_the_ca_is_refused(broker: Mosquitto, tmp_path: Path) -> None:
    stranger = make_tls_files(tmp_path / "other-ca")
    truck = Probe(broker, "T01", ca=stranger.ca_cert)
    assert not truck.connected
    assert isinstance(truck.error, ssl.SSLCertVerificationError)
    truck.close()


def test_tls_1_2_is_accepted_and_passwords_still_apply(broker: Mosquitto) -> None:
    assert broker.ca_path is not None
    context = ssl.create_default_context(cafile=str(broker.ca_path))
    context.maximum_version = ssl.TLSVersion.TLSv1_2  # the configured minimum
    truck = Probe(broker, "T01", context=context)
    assert truck.connected and truck.client.socket().version() == "TLSv1.2"
    truck.close()
    for user, password in ((None, None), ("T01", "wrong")):
        refused = Probe(broker, user, password, ca=broker.ca_path)
        assert not refused.connected
        refused.close()


def test_acl_holds_over_tls(broker: Mosquitto) -> None:
    t1 = Probe(broker, "T01", ca=broker.ca_path)
    t2 = Probe(broker, "T02", ca=broker.ca_path)
    controller = Probe(broker, CONTROLLER_USER, ca=broker.ca_path)
    assert t1.connected and t2.connected and controller.connected
    t1.subscribe(ORDER_T01)
    t2.subscribe(ORDER_T01)  # granted by the broker, but must deliver nothing
    controller.client.publish(ORDER_T01, b"{}", qos=1).wait_for_publish(5)
    assert t1.inbox.get(timeout=5).topic == ORDER_T01
    time.sleep(0.3)
    assert t2.inbox.empty()
    for probe in (t1, t2, controller):
        probe.close()


def test_client_certificates_when_required(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, M, ["T01"], tls=True, require_client_certs=True)
    broker.start()
    try:
        assert broker.ca_path is not None
        cert = broker.client_cert("T01")
        no_cert = Probe(broker, "T01", ca=broker.ca_path)
        assert not no_cert.connected
        no_cert.close()
        wrong_password = Probe(broker, "T01", "wrong", ca=broker.ca_path, cert=cert)
        assert not wrong_password.connected  # use_identity_as_username is off: passwords count
        wrong_password.close()
        good = Probe(broker, "T01", ca=broker.ca_path, cert=cert)
        assert good.connected
        good.close()
        link = VdaLink(
            "127.0.0.1",
            broker.port,
            CONTROLLER_USER,
            broker.passwords[CONTROLLER_USER],
            M,
            tls_ca=broker.ca_path,
            tls_client_cert=broker.client_cert(CONTROLLER_USER),
        )
        link.start()
        status = link.inbox.get(timeout=5)
        assert isinstance(status, LinkStatus) and status.connected
        link.stop()
    finally:
        broker.cleanup()
