"""The MQTT recorder: record format (pure) and recording from a real mosquitto."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_links.recorder import (
    MqttRecorder,
    RecorderError,
    make_record,
    payload_fields,
    read_records,
)
from corridor_links.tls import configure_client_tls

M = "CorridorSim"


def topic(serial: str, name: str) -> str:
    return f"uagv/v2/{M}/{serial}/{name}"


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (b'{"headerId": 3, "x": 1.5}', {"payload": {"headerId": 3, "x": 1.5}}),
        (b"[1, 2]", {"payload": [1, 2]}),
        (b"{not json", {"payload": "{not json"}),
        (b"", {"payload": ""}),
        (b"42", {"payload": "42"}),  # a JSON scalar stays text: unambiguous on replay
        (b'"quoted"', {"payload": '"quoted"'}),
        (b'{"x": NaN}', {"payload": '{"x": NaN}'}),
        (b'{"x": 1e400}', {"payload": '{"x": 1e400}'}),
        ("Zollamt Ganqimaodu 甘其毛都".encode(), {"payload": "Zollamt Ganqimaodu 甘其毛都"}),
        (b"\xff\xfe\x00", {"payload": "//4A", "payload_b64": True}),
    ],
)
def test_payload_fields(payload: bytes, fields: dict[str, Any]) -> None:
    assert payload_fields(payload) == fields
    json.dumps(make_record("t", 0, False, payload), allow_nan=False)  # always writable


def test_read_records_ignores_a_cut_last_line_and_names_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    good = json.dumps(make_record("a", 1, False, b"{}", t=1.0))
    path.write_text(f"{good}\n{good}\n" + '{"t": 2.0, "topic": "a", "qo')  # crash mid-write
    assert len(read_records(path)) == 2
    path.write_text(f"{good}\nnot json\n{good}\n")
    with pytest.raises(RecorderError, match=r"rec\.jsonl:2: not JSON"):
        read_records(path)
    path.write_text('{"topic": "a"}\n')
    with pytest.raises(RecorderError, match=r"rec\.jsonl:1: not a record"):
        read_records(path)


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path / "broker", M, ["T01", "T02"])
    server.start()
    yield server
    server.cleanup()


def _client(broker: Mosquitto, user: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, broker.passwords[user])
    if broker.ca_path is not None:
        configure_client_tls(client, broker.ca_path)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def _recorder(broker: Mosquitto, path: Path) -> MqttRecorder:
    return MqttRecorder(
        "127.0.0.1",
        broker.port,
        CONTROLLER_USER,
        broker.passwords[CONTROLLER_USER],
        path,
        tls_ca=broker.ca_path,
    )


def _wait_count(recorder: MqttRecorder, count: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while recorder.count < count:
        assert time.monotonic() < deadline, f"recorded {recorder.count} of {count}"
        time.sleep(0.01)


def test_records_topics_qos_retain_and_payloads(broker: Mosquitto, tmp_path: Path) -> None:
    truck = _client(broker, "T01")
    controller = _client(broker, CONTROLLER_USER)
    online = {"headerId": 0, "connectionState": "ONLINE"}
    # Retained before the recorder exists: it arrives on subscription with retain true.
    truck.publish(topic("T01", "connection"), json.dumps(online), 1, True).wait_for_publish(5)
    path = tmp_path / "rec" / "mqtt.jsonl"
    recorder = _recorder(broker, path)
    t0 = time.time()
    recorder.start()
    _wait_count(recorder, 1)
    sent: list[tuple[mqtt.Client, str, bytes, int, bool]] = [
        (truck, topic("T01", "state"), b'{"headerId": 1}', 0, False),
        (controller, topic("T01", "order"), b'{"orderId": "o-1"}', 1, False),
        (controller, topic("T01", "instantActions"), b'{"actions": []}', 1, False),
        (truck, topic("T01", "state"), b"{not json", 0, False),
        (truck, topic("T01", "visualization"), b"\xff\x00", 0, False),
        (truck, topic("T01", "connection"), b'{"connectionState": "OFFLINE"}', 1, True),
    ]
    for number, (client, name, payload, qos, retain) in enumerate(sent, start=2):
        client.publish(name, payload, qos, retain)
        _wait_count(recorder, number)  # publishers differ: wait so that the order is known
    recorder.stop()
    records = read_records(path)
    assert [r["topic"] for r in records] == [topic("T01", "connection")] + [s[1] for s in sent]
    assert [r["qos"] for r in records] == [1, 0, 1, 1, 0, 0, 1]
    # Live messages are delivered with retain false, even one published as retained.
    assert [r["retain"] for r in records] == [True] + [False] * 6
    assert records[0]["payload"] == online
    assert records[1]["payload"] == {"headerId": 1}
    assert records[4]["payload"] == "{not json"
    assert records[5]["payload"] == "/wA=" and records[5]["payload_b64"] is True
    times = [r["t"] for r in records]
    assert times == sorted(times) and t0 <= times[0] <= times[-1] <= time.time()
    assert recorder.count == len(records) == len(path.read_text().splitlines())
    # A fresh subscription gets the last retained connection message, flagged retained.
    second = MqttRecorder(
        "127.0.0.1",
        broker.port,
        CONTROLLER_USER,
        broker.passwords[CONTROLLER_USER],
        tmp_path / "second.jsonl",
        client_id="corridor-recorder-2",
        topics=[topic("T01", "connection")],
    )
    second.start()
    _wait_count(second, 1)
    second.stop()
    [again] = read_records(tmp_path / "second.jsonl")
    assert again["retain"] is True and again["payload"] == {"connectionState": "OFFLINE"}
    for client in (truck, controller):
        client.disconnect()
        client.loop_stop()


def test_one_publisher_burst_is_recorded_in_order(broker: Mosquitto, tmp_path: Path) -> None:
    path = tmp_path / "mqtt.jsonl"
    recorder = _recorder(broker, path)
    recorder.start()
    controller = _client(broker, CONTROLLER_USER)
    names = ["order", "instantActions"]
    for i in range(200):
        controller.publish(topic(f"T0{1 + i % 2}", names[i % 2]), json.dumps({"i": i}), qos=1)
    _wait_count(recorder, 200)
    recorder.stop()
    records = read_records(path)
    assert [r["payload"]["i"] for r in records] == list(range(200))
    assert [r["topic"].rsplit("/", 1)[1] for r in records[:4]] == names * 2
    controller.disconnect()
    controller.loop_stop()


def test_parallel_publishers_and_stop_while_recording(broker: Mosquitto, tmp_path: Path) -> None:
    path = tmp_path / "mqtt.jsonl"
    recorder = _recorder(broker, path)
    recorder.start()
    trucks = [_client(broker, s) for s in ("T01", "T02")]

    def publish(client: mqtt.Client, serial: str) -> None:
        for i in range(100):
            client.publish(topic(serial, "state"), json.dumps({"headerId": i}), qos=1)

    threads = [
        threading.Thread(target=publish, args=(c, s))
        for c, s in zip(trucks, ("T01", "T02"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_count(recorder, 200)
    records = read_records(path)
    for serial in ("T01", "T02"):  # per publisher and topic, MQTT keeps the order
        ids = [r["payload"]["headerId"] for r in records if r["topic"] == topic(serial, "state")]
        assert ids == list(range(100))
    # Stop while messages still arrive: no exception, every counted message is a whole line.
    flood = threading.Thread(target=publish, args=(trucks[0], "T01"))
    flood.start()
    time.sleep(0.01)
    recorder.stop()
    flood.join()
    recorder.stop()  # twice is fine
    assert recorder.count == len(read_records(path)) == len(path.read_text().splitlines())
    assert recorder.write_errors == 0
    for client in trucks:
        client.disconnect()
        client.loop_stop()


def test_recorder_refused_with_a_wrong_password(broker: Mosquitto, tmp_path: Path) -> None:
    recorder = MqttRecorder("127.0.0.1", broker.port, CONTROLLER_USER, "wrong", tmp_path / "r")
    started = time.monotonic()
    with pytest.raises(RecorderError, match="refused"):
        recorder.start(timeout_s=5)
    assert time.monotonic() - started < 2


def test_recording_over_tls_and_across_a_broker_restart(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker", M, ["T01"], tls=True)
    broker.start()
    try:
        path = tmp_path / "mqtt.jsonl"
        recorder = _recorder(broker, path)
        recorder.start()
        truck = _client(broker, "T01")
        truck.publish(topic("T01", "state"), b'{"headerId": 1}', qos=1).wait_for_publish(5)
        _wait_count(recorder, 1)
        broker.restart()
        truck.loop_stop()  # a new connection after the restart
        truck = _client(broker, "T01")
        deadline = time.monotonic() + 5
        while recorder.count < 2:  # the recorder may still be reconnecting: publish again
            assert time.monotonic() < deadline
            truck.publish(topic("T01", "state"), b'{"headerId": 2}', qos=1).wait_for_publish(5)
            time.sleep(0.2)
        recorder.stop()
        records = read_records(path)
        assert [r["payload"]["headerId"] for r in records[:2]] == [1, 2]
        truck.disconnect()
        truck.loop_stop()
    finally:
        broker.cleanup()
