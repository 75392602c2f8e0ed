"""End to end: the whole skeleton in separate processes, through the real broker, the real OPC
UA server and real ROS topics.

What crossed each medium is asserted on what a spy saw there: orders and states on the broker
(a controller-account MQTT client subscribed to ``uagv/#``), plate reads and manifests on ROS
(which the bridge can only have taken from the OPC UA server), run outcomes on ROS.
"""

import json
import queue
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import rclpy
from corridor_interfaces.msg import Manifest, PlateRead

from corridor_core.vda5050 import check_order
from corridor_links.mosquitto import CONTROLLER_USER
from corridor_nodes import topics
from corridor_nodes.scenario import ScenarioDriver, Timeline, skeleton_runs
from corridor_nodes.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


class BrokerSpy:
    """Records every message on uagv/# with the controller's account."""

    def __init__(self, port: int, password: str) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(CONTROLLER_USER, password)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("uagv/#", qos=1)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def by_topic(self) -> dict[str, list[bytes]]:
        seen: dict[str, list[bytes]] = defaultdict(list)
        while not self.messages.empty():
            topic, payload = self.messages.get()
            seen[topic].append(payload)
        return seen


@pytest.fixture()
def stack(tmp_path: Path):
    running = Stack(
        ROOT / "maps" / "tan-thanh-puzhai-2027.yaml",
        ROOT / "config" / "fleet.yaml",
        tmp_path,
        time_scale=100.0,
    )
    running.start()
    yield running
    running.stop()


def test_skeleton_carries_containers_and_holds_the_mismatch(stack: Stack) -> None:
    assert stack.broker is not None and stack.supervisor is not None
    spy = BrokerSpy(stack.broker.port, stack.broker.passwords[CONTROLLER_USER])
    rclpy.init(domain_id=stack.domain_id)
    driver = ScenarioDriver(stack, skeleton_runs(), Timeline(time.monotonic(), 100.0, echo=print))
    plate_reads: list[PlateRead] = []
    manifests: list[Manifest] = []
    driver.create_subscription(PlateRead, topics.PLATE_READS, plate_reads.append, topics.EVENTS)
    driver.create_subscription(Manifest, topics.MANIFESTS, manifests.append, topics.EVENTS)
    try:
        driver.wait_for_checkpoint(30)
        driver.wait_trucks_online(30)

        # Bad input first: it must be logged and must crash nothing.
        stack.call_checkpoint(
            ("PostManifest", "DEC-BAD", "CSQU3054384", "桂F·D3101", "RELEASED", "GREEN"),
            ("InjectPlateRead", "VN-IN-1", "桂F·77777", 0.9),
        )
        truck = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        truck.username_pw_set("T01", stack.broker.passwords["T01"])
        truck.connect("127.0.0.1", stack.broker.port)
        truck.loop_start()
        truck.publish("uagv/v2/CorridorSim/T01/state", b"{malformed", qos=1).wait_for_publish(5)
        truck.disconnect()
        truck.loop_stop()

        driver.submit_all(30)
        assert driver.run_until_done(90), driver.timeline.lines
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(manifests) < 5:
            rclpy.spin_once(driver, timeout_sec=0.1)
        assert stack.supervisor.dead() == [], "a process died"
    finally:
        driver.destroy_node()
        rclpy.try_shutdown()

    outcome = {run_id: msg.status_name for run_id, msg in driver.status.items()}
    assert outcome == {
        "R-001": "COMPLETED",
        "R-002": "COMPLETED",
        "R-003": "HELD",
        "R-004": "COMPLETED",
    }
    held_truck = driver.status["R-003"].vehicle_id

    # The broker: exactly the three cleared runs got orders, each valid, none to the held truck.
    seen = spy.by_topic()
    spy.client.loop_stop()
    orders = [json.loads(p) for t, ps in seen.items() if t.endswith("/order") for p in ps]
    assert sorted(o["orderId"] for o in orders) == ["R-001.1", "R-002.1", "R-004.1"]
    assert all(check_order(o) == [] for o in orders)
    assert not seen.get(f"uagv/v2/CorridorSim/{held_truck}/order")
    states = [
        json.loads(p)
        for t, ps in seen.items()
        if t.endswith("/state")
        for p in ps
        if p.startswith(b'{"')
    ]
    assert any(s["lastNodeId"] == "B0" for s in states), "no truck reported crossing km 0"

    # OPC UA -> bridge -> ROS: every manifest (also the bad one) and plate read came through.
    assert {m.declaration_number for m in manifests} >= {"DEC-BAD", "DEC-R-001", "DEC-R-004"}
    assert {p.plate_raw for p in plate_reads} >= {"桂F·77777", "桂F·D3101"}

    # Bad input was logged clearly by the dispatcher.
    codes = stack.stop()
    assert all(code == 0 for code in codes.values()), codes
    log = (stack.run_dir / "logs" / "dispatcher.log").read_text()
    assert "manifest 'DEC-BAD' rejected" in log and "should be 3" in log
    assert "'桂F·77777' at lane 'VN-IN-1'" in log and "matches no truck" in log
    assert "uagv/v2/CorridorSim/T01/state: state from T01: payload is not valid JSON" in log
