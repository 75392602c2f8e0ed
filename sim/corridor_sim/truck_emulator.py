"""Emulated VDA 5050 trucks: MQTT clients that drive orders on a simulated clock.

Each truck connects with its own account, sets its last will to ``CONNECTIONBROKEN``, publishes
``ONLINE``, and reports ``state`` on every event and at least once a second. An order's released
nodes are driven edge by edge at the edge's ``maxSpeed`` over its ``length``; simulated time
runs ``time_scale`` times faster than the wall clock.

Run: ``corridor-truck-emulator --port P --fleet config/fleet.yaml --credentials FILE
--time-scale 50`` where FILE holds one ``serial:password`` per line.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from corridor_core.errors import ProtocolError
from corridor_core.fleet import Truck, load_fleet
from corridor_core.lane_map import LaneMap
from corridor_core.map_io import load_map
from corridor_core.vda5050 import HeaderStamper, check_order, decode_json, topic

LOG = logging.getLogger("trucks")


@dataclass
class _Leg:
    edge: dict[str, Any]
    end: dict[str, Any]


@dataclass
class EmulatedTruck:
    """One truck: an MQTT client plus a tiny order executor."""

    truck: Truck
    manufacturer: str
    lane_map: LaneMap
    time_scale: float
    stamper: HeaderStamper
    client: mqtt.Client = field(init=False)
    order_id: str = ""
    order_update_id: int = 0
    last_node_id: str = ""
    last_node_sequence_id: int = 0
    legs: list[_Leg] = field(default_factory=list)
    driving: bool = False
    x_m: float = 0.0
    y_m: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _publish_lock: threading.Lock = field(default_factory=threading.Lock)
    _leg_end_wall_s: float = 0.0

    def __post_init__(self) -> None:
        node = self.lane_map.node(self.truck.home_node)
        self.last_node_id, self.x_m, self.y_m = node.node_id, node.x_m, node.y_m
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"truck-{self.truck.serial}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 5)

    def _topic(self, name: str) -> str:
        return topic(self.manufacturer, self.truck.serial, name)

    def _connection_msg(self, state: str) -> str:
        return json.dumps(
            self.stamper.stamp(
                self.truck.serial, "connection", {"connectionState": state}, time.time()
            )
        )

    def connect(self, port: int, password: str) -> None:
        """Connect with a last will of CONNECTIONBROKEN."""
        self.client.username_pw_set(self.truck.serial, password)
        self.client.will_set(
            self._topic("connection"), self._connection_msg("CONNECTIONBROKEN"), qos=1, retain=True
        )
        self.client.connect_async("127.0.0.1", port, keepalive=5)
        self.client.loop_start()

    def disconnect(self) -> None:
        """Say OFFLINE and disconnect cleanly."""
        info = self.client.publish(
            self._topic("connection"), self._connection_msg("OFFLINE"), qos=1, retain=True
        )
        info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            LOG.error("%s: broker refused connection: %s", self.truck.serial, reason)
            return
        client.subscribe(self._topic("order"), qos=1)
        client.subscribe(self._topic("instantActions"), qos=1)
        client.publish(
            self._topic("connection"), self._connection_msg("ONLINE"), qos=1, retain=True
        )
        self.publish_state()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not message.topic.endswith("/order"):
            return
        try:
            order = decode_json(message.payload, f"order to {self.truck.serial}")
        except ProtocolError as exc:
            self._reject("validationError", str(exc))
            return
        problems = check_order(order)
        if problems:
            self._reject("validationError", "; ".join(problems))
            return
        with self._lock:
            if order["orderId"] == self.order_id and order["orderUpdateId"] <= self.order_update_id:
                return  # duplicate or outdated update: keep driving what we have
            if self.legs:
                self._reject("orderError", "OTHER_ORDER_ACTIVE", locked=True)
                return
            if order["nodes"][0]["nodeId"] != self.last_node_id:
                self._reject(
                    "noRouteError",
                    f"START_NODE_OUT_OF_RANGE: truck is at "
                    f"{self.last_node_id}, order starts at {order['nodes'][0]['nodeId']}",
                    locked=True,
                )
                return
            self.order_id, self.order_update_id = order["orderId"], order["orderUpdateId"]
            self.errors = []
            self.legs = [
                _Leg(e, n)
                for e, n in zip(order["edges"], order["nodes"][1:], strict=True)
                if e["released"] and n["released"]
            ]
            self._leg_end_wall_s = 0.0
        LOG.info(
            "%s: order %s accepted (%d legs)", self.truck.serial, order["orderId"], len(self.legs)
        )
        self.publish_state()

    def _reject(self, error_type: str, text: str, locked: bool = False) -> None:
        LOG.warning("%s: order rejected: %s", self.truck.serial, text)
        self.errors = [
            {
                "errorType": error_type,
                "errorLevel": "WARNING",
                "errorDescription": text,
                "errorReferences": [],
            }
        ]
        if not locked:
            self.publish_state()

    def step(self, now_wall_s: float) -> bool:
        """Advance the order; returns True when the state changed."""
        with self._lock:
            if not self.legs:
                if self.driving:
                    self.driving = False
                    return True
                return False
            leg = self.legs[0]
            if self._leg_end_wall_s == 0.0:
                speed = float(leg.edge.get("maxSpeed") or 5.0)
                length = float(leg.edge.get("length") or self._distance(leg))
                self._leg_end_wall_s = now_wall_s + length / speed / self.time_scale
                self.driving = True
                return True
            if now_wall_s < self._leg_end_wall_s:
                return False
            self.legs.pop(0)
            self.last_node_id = leg.end["nodeId"]
            self.last_node_sequence_id = leg.end["sequenceId"]
            pos = leg.end.get("nodePosition") or {}
            self.x_m, self.y_m = float(pos.get("x", self.x_m)), float(pos.get("y", self.y_m))
            self._leg_end_wall_s = 0.0
            self.driving = bool(self.legs)
            return True

    def _distance(self, leg: _Leg) -> float:
        pos = leg.end.get("nodePosition") or {}
        return max(1.0, math.hypot(pos.get("x", 0.0) - self.x_m, pos.get("y", 0.0) - self.y_m))

    def state_body(self) -> dict[str, Any]:
        """The body of a VDA 5050 v2.0 state message."""
        with self._lock:
            pending = [leg.end for leg in self.legs]
            edges = [leg.edge for leg in self.legs]
            return {
                "orderId": self.order_id,
                "orderUpdateId": self.order_update_id,
                "lastNodeId": self.last_node_id,
                "lastNodeSequenceId": self.last_node_sequence_id,
                "nodeStates": [
                    {
                        "nodeId": n["nodeId"],
                        "sequenceId": n["sequenceId"],
                        "released": n["released"],
                    }
                    for n in pending
                ],
                "edgeStates": [
                    {
                        "edgeId": e["edgeId"],
                        "sequenceId": e["sequenceId"],
                        "released": e["released"],
                    }
                    for e in edges
                ],
                "driving": self.driving,
                "actionStates": [],
                "batteryState": {"batteryCharge": 100.0, "charging": False},
                "operatingMode": "AUTOMATIC",
                "errors": list(self.errors),
                "safetyState": {"eStop": "NONE", "fieldViolation": False},
                "agvPosition": {
                    "x": self.x_m,
                    "y": self.y_m,
                    "theta": 0.0,
                    "mapId": self.lane_map.name,
                    "positionInitialized": True,
                },
            }

    def publish_state(self) -> None:
        """Publish the current state (QoS 0, as VDA 5050 asks)."""
        body = self.state_body()
        with self._publish_lock:  # called from paho's thread and the drive loop
            msg = self.stamper.stamp(self.truck.serial, "state", body, time.time())
            self.client.publish(self._topic("state"), json.dumps(msg), qos=0)


def run_fleet(
    trucks: list[EmulatedTruck],
    stop: threading.Event,
    state_period_s: float = 1.0,
    tick_s: float = 0.02,
) -> None:
    """Drive every truck until ``stop`` is set."""
    last_report = {t.truck.serial: 0.0 for t in trucks}
    while not stop.is_set():
        now = time.monotonic()
        for truck in trucks:
            if truck.step(now) or now - last_report[truck.truck.serial] >= state_period_s:
                truck.publish_state()
                last_report[truck.truck.serial] = now
        stop.wait(tick_s)


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="broker port on 127.0.0.1")
    parser.add_argument("--map", type=Path, required=True, help="lane map YAML")
    parser.add_argument("--fleet", type=Path, required=True, help="fleet YAML")
    parser.add_argument(
        "--credentials", type=Path, required=True, help="file with one serial:password per line"
    )
    parser.add_argument(
        "--time-scale", type=float, default=50.0, help="simulated seconds per wall-clock second"
    )
    parser.add_argument("--only", nargs="*", default=None, help="serials to emulate (default all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s trucks %(message)s")
    lane_map = load_map(args.map)
    fleet = load_fleet(args.fleet, lane_map)
    passwords = dict(
        line.split(":", 1) for line in args.credentials.read_text().splitlines() if ":" in line
    )
    trucks = [
        EmulatedTruck(
            t, fleet.manufacturer, lane_map, args.time_scale, HeaderStamper(fleet.manufacturer)
        )
        for t in fleet.trucks
        if args.only is None or t.serial in args.only
    ]
    for truck in trucks:
        truck.connect(args.port, passwords[truck.truck.serial])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    LOG.info("%d trucks emulated at %.0fx", len(trucks), args.time_scale)
    run_fleet(trucks, stop)
    for truck in trucks:
        truck.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
