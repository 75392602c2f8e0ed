"""Tests of the emulated VDA 5050 trucks.

Pure tests drive :class:`TruckLogic` on its simulated clock. Integration tests run a real
mosquitto (passwords + ACL) with the controller's account on one side and emulated trucks (in
this process, or one ``python -m corridor_sim.truck_emulator`` process) on the other.

Route Z-CN G-CN P-N P-S B0 PB G-VN Z-VN: nodes have sequenceIds 0..14, edges 1..13; the first
edge (Y-CN, 50 m at 10 km/h) takes 18 s.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from corridor_core.errors import ConfigError
from corridor_core.fleet import load_fleet
from corridor_core.map_io import load_map
from corridor_core.vda5050 import HeaderStamper, build_order, topic
from corridor_core.vda5050_schema import check_message, check_payload
from corridor_links.mosquitto import CONTROLLER_USER, Mosquitto
from corridor_sim.truck_emulator import EmulatedTruck, FleetLoop
from corridor_sim.truck_logic import (
    Fault,
    FaultKind,
    FaultSpec,
    OrderOutcome,
    TruckLogic,
    factsheet_body,
    parse_fault_spec,
)

REPO = Path(__file__).resolve().parents[2]
MAP_PATH = REPO / "maps" / "tan-thanh-puzhai-2027.yaml"
FLEET_PATH = REPO / "config" / "fleet.yaml"
LANE_MAP = load_map(MAP_PATH)
FLEET = load_fleet(FLEET_PATH, LANE_MAP)
M = FLEET.manufacturer
ROUTE = LANE_MAP.route("Z-CN", "Z-VN")
STAMPER = HeaderStamper(M)
FIRST_EDGE_S = 50 / (10 / 3.6)  # 18 s

# ---------------------------------------------------------------------- helpers


def stamped(body: dict[str, Any], name: str = "order", serial: str = "T01") -> dict[str, Any]:
    return STAMPER.stamp(serial, name, body, time.time())


def order(
    order_id: str = "o1",
    update_id: int = 0,
    released_legs: int | None = None,
    stitch: int = 0,
    waits: dict[int, str] | None = None,
    others: dict[int, str] | None = None,
) -> dict[str, Any]:
    """An order (or update starting at route node ``stitch``) over Z-CN..Z-VN, header included.

    ``waits`` puts a waitForTrigger (HARD) with the given actionId on route node i; ``others``
    an action of an unknown type.
    """
    body = build_order(LANE_MAP, ROUTE, order_id, update_id, "Z-CN", released_legs=released_legs)
    for i, action_id in (waits or {}).items():
        body["nodes"][i]["actions"].append(
            {"actionId": action_id, "actionType": "waitForTrigger", "blockingType": "HARD"}
        )
    for i, action_id in (others or {}).items():
        body["nodes"][i]["actions"].append(
            {"actionId": action_id, "actionType": "honk", "blockingType": "NONE"}
        )
    body["nodes"], body["edges"] = body["nodes"][stitch:], body["edges"][stitch:]
    return stamped(body)


def instant(*actions: dict[str, Any]) -> dict[str, Any]:
    return stamped({"actions": list(actions)}, "instantActions")


def action(action_id: str, kind: str, **params: str) -> dict[str, Any]:
    body: dict[str, Any] = {"actionId": action_id, "actionType": kind, "blockingType": "NONE"}
    if params:
        body["actionParameters"] = [{"key": k, "value": v} for k, v in params.items()]
    return body


def trigger(action_id: str, target: str) -> dict[str, Any]:
    return action(action_id, "trigger", actionId=target)


def new_logic() -> TruckLogic:
    node = LANE_MAP.node("Z-CN")
    return TruckLogic("T01", "Z-CN", node.x_m, node.y_m, LANE_MAP.name, 30 / 3.6)


def run_to(logic: TruckLogic, now_s: float) -> list[dict[str, Any]]:
    """Advance to ``now_s``; the state after each event."""
    states = []
    while logic.advance(now_s):
        states.append(logic.state_body())
        assert_valid("state", stamped(states[-1], "state"))
    return states


def status(logic: TruckLogic, action_id: str) -> str:
    return next(
        a["actionStatus"] for a in logic.state_body()["actionStates"] if a["actionId"] == action_id
    )


def errors(logic: TruckLogic) -> list[tuple[str, str, str]]:
    return [
        (e["errorType"], e["errorLevel"], e["errorDescription"].split(":")[0])
        for e in logic.state_body()["errors"]
    ]


def assert_valid(kind: str, msg: dict[str, Any]) -> None:
    assert check_message(kind, msg) == []


# ---------------------------------------------------------------------- orders and stitching


def test_truck_stops_at_the_last_released_node_and_reports_the_horizon() -> None:
    logic = new_logic()
    assert logic.receive_order(order(released_legs=2)) is OrderOutcome.ACCEPTED
    assert logic.state_body()["nodeStates"][0] == {
        "nodeId": "G-CN",
        "sequenceId": 2,
        "released": True,
        "nodePosition": {"x": 50.0, "y": 0.0, "mapId": LANE_MAP.name},
    }
    run_to(logic, FIRST_EDGE_S - 0.1)
    assert logic.last_node_id == "Z-CN" and logic.driving
    run_to(logic, FIRST_EDGE_S + 0.1)
    state = logic.state_body()
    assert (state["lastNodeId"], state["lastNodeSequenceId"], state["agvPosition"]["x"]) == (
        "G-CN",
        2,
        50.0,
    )
    assert [n["nodeId"] for n in state["nodeStates"]][:1] == ["P-N"]
    assert [e["sequenceId"] for e in state["edgeStates"]][:1] == [3]
    run_to(logic, 10_000)
    state = logic.state_body()
    assert (state["lastNodeId"], state["lastNodeSequenceId"], state["driving"]) == ("P-N", 4, False)
    assert [(n["nodeId"], n["released"]) for n in state["nodeStates"]] == [
        (n, False) for n in ("P-S", "B0", "PB", "G-VN", "Z-VN")
    ]
    assert [(e["sequenceId"], e["released"]) for e in state["edgeStates"]] == [
        (s, False) for s in (5, 7, 9, 11, 13)
    ]
    assert state["agvPosition"]["x"] == 1050.0
    assert_valid("state", stamped(state, "state"))


def test_order_update_stitches_at_the_last_base_node_and_replaces_the_horizon() -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=2))
    run_to(logic, 10)  # still on the first edge
    update = order(update_id=1, released_legs=4, stitch=2)
    assert update["nodes"][0]["nodeId"] == "P-N" and update["nodes"][0]["sequenceId"] == 4
    assert logic.receive_order(update) is OrderOutcome.UPDATED
    assert [n["nodeId"] for n in logic.state_body()["nodeStates"]] == [
        "G-CN",
        "P-N",
        "P-S",
        "B0",
        "PB",
        "G-VN",
        "Z-VN",
    ]
    visited = [s["lastNodeId"] for s in run_to(logic, 100_000)]
    assert visited[-1] == "B0" and "P-N" in visited and logic.state_body()["driving"] is False
    logic.receive_order(order(update_id=2, stitch=4))
    run_to(logic, 200_000)
    state = logic.state_body()
    assert (state["orderId"], state["orderUpdateId"], state["lastNodeId"]) == ("o1", 2, "Z-VN")
    assert state["nodeStates"] == [] and state["edgeStates"] == [] and state["errors"] == []
    assert logic.is_idle()


def test_a_truck_never_drives_into_the_horizon() -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=1))
    for state in run_to(logic, 1_000_000):
        assert state["lastNodeId"] in ("Z-CN", "G-CN")
    assert logic.last_node_id == "G-CN" and not logic.driving


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (lambda: order("o2", 0, released_legs=1), ("orderError", "WARNING", "OTHER_ORDER_ACTIVE")),
        (
            lambda: order("o1", 0, released_legs=3),
            ("orderUpdateError", "WARNING", "SAME_ORDER_UPDATE_ID"),
        ),
        (
            lambda: order("o1", 2, released_legs=3, stitch=1),
            ("orderUpdateError", "WARNING", "STITCHING_NODE_MISMATCH"),
        ),
        (
            lambda: {**order("o1", 1), "edges": []},
            ("validationError", "WARNING", "VALIDATION_FAILURE"),
        ),
    ],
    ids=["other-order-active", "same-update-id", "wrong-stitching-node", "malformed"],
)
def test_bad_orders_are_rejected_and_reported_until_the_next_accepted_order(
    second: Callable[[], dict[str, Any]], expected: tuple[str, str, str]
) -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=2))
    run_to(logic, 5)
    assert logic.receive_order(second()) is OrderOutcome.REJECTED
    assert errors(logic) == [expected]
    run_to(logic, 10_000)  # the first order goes on
    assert logic.last_node_id == "P-N" and errors(logic) == [expected]
    assert logic.receive_order(order(update_id=5, stitch=2)) is OrderOutcome.UPDATED
    assert errors(logic) == []


def test_identical_resend_is_ignored_and_an_outdated_update_is_rejected() -> None:
    logic = new_logic()
    first = order(released_legs=2)
    logic.receive_order(first)
    resend = copy.deepcopy(first)
    resend["headerId"] += 7  # a re-send has a new header
    assert logic.receive_order(resend) is OrderOutcome.IGNORED
    assert errors(logic) == []
    logic.receive_order(order(update_id=3, released_legs=4, stitch=2))
    assert logic.receive_order(order(update_id=2, released_legs=4, stitch=2)) is (
        OrderOutcome.REJECTED
    )
    assert errors(logic) == [("orderUpdateError", "WARNING", "OUTDATED_ORDER_UPDATE")]
    assert logic.order_update_id == 3


def test_new_order_must_start_where_the_truck_stands_and_ids_are_kept_after_finishing() -> None:
    logic = new_logic()
    logic.receive_order(order())
    run_to(logic, 100_000)
    assert (logic.order_id, logic.order_update_id, logic.last_node_id) == ("o1", 0, "Z-VN")
    assert logic.receive_order(order("o2")) is OrderOutcome.REJECTED
    assert errors(logic) == [("noRouteError", "WARNING", "START_NODE_OUT_OF_RANGE")]
    back = stamped(build_order(LANE_MAP, LANE_MAP.route("Z-VN", "Z-CN"), "o2", 0, "Z-VN"))
    assert logic.receive_order(back) is OrderOutcome.ACCEPTED
    assert errors(logic) == []
    run_to(logic, 200_000)
    assert logic.last_node_id == "Z-CN"


def test_malformed_messages_are_reported_not_raised() -> None:
    logic = new_logic()
    bad_action = order()
    bad_action["nodes"][1]["actions"] = [{"actionId": 7}]
    bad_position = order()
    bad_position["nodes"][2]["nodePosition"] = {"x": "far"}
    bad_speed = order()
    bad_speed["edges"][0]["maxSpeed"] = -1
    for msg in (bad_action, bad_position, bad_speed):
        assert logic.receive_order(msg) is OrderOutcome.REJECTED
    logic.receive_instant_actions(stamped({"actions": "none"}, "instantActions"))
    logic.receive_instant_actions(
        instant({"actionId": "t-1", "actionType": "trigger", "actionParameters": 3}, {"x": 1})
    )
    assert status(logic, "t-1") == "FAILED"
    assert [e[0] for e in errors(logic)] == ["validationError"] * 5
    truck = EmulatedTruck(FLEET.trucks[0], M, LANE_MAP, 1.0, HeaderStamper(M))
    truck.inbox.put(("order", b"{not json"))
    truck.inbox.put(("instantActions", b"[]"))
    truck.step(time.monotonic())  # not connected: states are dropped by paho, not raised
    assert [e["errorType"] for e in truck.state_body()["errors"]] == ["validationError"] * 2


# ---------------------------------------------------------------------- actions


def test_wait_for_trigger_holds_the_truck_until_triggered() -> None:
    logic = new_logic()
    logic.receive_order(order(waits={1: "w-gate"}, others={2: "honk-1"}))
    assert status(logic, "w-gate") == "WAITING"
    run_to(logic, 10_000)
    state = logic.state_body()
    assert (state["lastNodeId"], state["driving"]) == ("G-CN", False)
    assert status(logic, "w-gate") == "RUNNING"
    assert not logic.is_idle()
    logic.receive_instant_actions(instant(trigger("t-1", "w-gate")))
    assert status(logic, "w-gate") == "FINISHED" and status(logic, "t-1") == "FINISHED"
    run_to(logic, 20_000)
    assert logic.last_node_id == "Z-VN"
    assert status(logic, "honk-1") == "FINISHED"  # unknown node action: finished at once


def test_an_early_trigger_means_the_truck_does_not_stop() -> None:
    logic = new_logic()
    logic.receive_order(order(waits={3: "w-ps"}))
    logic.receive_instant_actions(instant(trigger("t-1", "w-ps")))
    assert status(logic, "w-ps") == "FINISHED"
    states = run_to(logic, 100_000)
    assert logic.last_node_id == "Z-VN"
    at_ps = [s for s in states if s["lastNodeId"] == "P-S"]
    assert at_ps and all(s["driving"] for s in at_ps)


def test_early_trigger_survives_an_update_that_resends_the_waiting_node() -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=1, waits={4: "w-b0"}))  # B0 in the horizon
    logic.receive_instant_actions(instant(trigger("t-1", "w-b0")))
    logic.receive_order(order(update_id=1, stitch=1, waits={4: "w-b0"}))
    run_to(logic, 100_000)
    assert logic.last_node_id == "Z-VN" and status(logic, "w-b0") == "FINISHED"


def test_a_trigger_for_no_waiting_action_fails() -> None:
    logic = new_logic()
    logic.receive_instant_actions(instant(trigger("t-1", "nothing")))
    assert status(logic, "t-1") == "FAILED"


def test_pause_stops_the_truck_on_the_edge_and_resume_continues() -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=1))
    run_to(logic, 10)
    logic.receive_instant_actions(instant(action("p-1", "startPause")))
    run_to(logic, 1_000)
    state = logic.state_body()
    assert (state["paused"], state["driving"], state["lastNodeId"]) == (True, False, "Z-CN")
    assert status(logic, "p-1") == "FINISHED"
    logic.receive_instant_actions(instant(action("p-2", "stopPause")))
    run_to(logic, 1_000 + FIRST_EDGE_S - 10 - 0.1)
    assert logic.last_node_id == "Z-CN" and logic.driving
    run_to(logic, 1_000 + FIRST_EDGE_S - 10 + 0.1)
    assert logic.last_node_id == "G-CN" and logic.state_body()["paused"] is False


def test_cancel_on_an_edge_stops_at_the_next_node_and_keeps_the_order_id() -> None:
    logic = new_logic()
    logic.receive_order(order(waits={3: "w-ps"}))
    run_to(logic, 10)
    logic.receive_instant_actions(instant(action("c-1", "cancelOrder")))
    assert status(logic, "c-1") == "RUNNING" and status(logic, "w-ps") == "FAILED"
    run_to(logic, 100_000)
    state = logic.state_body()
    assert (state["lastNodeId"], state["nodeStates"], state["edgeStates"]) == ("G-CN", [], [])
    assert (state["orderId"], state["driving"]) == ("o1", False)
    assert status(logic, "c-1") == "FINISHED"
    rejected = logic.receive_order(order(update_id=1, stitch=1))
    assert rejected is OrderOutcome.REJECTED
    assert errors(logic) == [("orderUpdateError", "WARNING", "ORDER_UPDATE_FOLLOWING_CANCEL")]
    fresh = stamped(build_order(LANE_MAP, LANE_MAP.route("G-CN", "Z-VN"), "o2", 0, "G-CN"))
    assert logic.receive_order(fresh) is OrderOutcome.ACCEPTED


def test_cancel_while_idle_fails_with_no_order_to_cancel() -> None:
    logic = new_logic()
    logic.receive_instant_actions(instant(action("c-1", "cancelOrder")))
    assert status(logic, "c-1") == "FAILED"
    assert errors(logic) == [("noOrderToCancel", "WARNING", "cancelOrder while idle")]


def test_requests_finish_and_unknown_instant_actions_fail() -> None:
    logic = new_logic()
    extra = logic.receive_instant_actions(
        instant(
            action("s-1", "stateRequest"),
            action("f-1", "factsheetRequest"),
            action("x-1", "startCharging"),
        )
    )
    assert extra == ["factsheet"]
    assert [status(logic, a) for a in ("s-1", "f-1", "x-1")] == ["FINISHED", "FINISHED", "FAILED"]


# ---------------------------------------------------------------------- faults


def test_stall_stops_without_error_and_recover_resumes() -> None:
    logic = new_logic()
    logic.receive_order(order(released_legs=1))
    run_to(logic, 5)
    logic.inject(Fault(FaultKind.STALL))
    run_to(logic, 1_000)
    assert logic.last_node_id == "Z-CN" and not logic.driving and errors(logic) == []
    logic.inject(Fault(FaultKind.RECOVER))
    run_to(logic, 1_000 + FIRST_EDGE_S - 5 + 0.1)
    assert logic.last_node_id == "G-CN"


def test_slow_multiplies_the_speed() -> None:
    logic = new_logic()
    logic.inject(Fault(FaultKind.SLOW, 0.5))
    logic.receive_order(order(released_legs=1))
    run_to(logic, 2 * FIRST_EDGE_S - 0.1)
    assert logic.last_node_id == "Z-CN"
    run_to(logic, 2 * FIRST_EDGE_S + 0.1)
    assert logic.last_node_id == "G-CN"


def test_breakdown_stops_for_good_with_a_fatal_error() -> None:
    logic = new_logic()
    logic.receive_order(order())
    run_to(logic, 5)
    logic.inject(Fault(FaultKind.BREAKDOWN))
    run_to(logic, 100_000)
    assert logic.last_node_id == "Z-CN" and not logic.driving
    assert errors(logic) == [("breakdown", "FATAL", "truck broke down; needs a person")]


def test_reject_fault_rejects_every_order() -> None:
    logic = new_logic()
    logic.inject(Fault(FaultKind.REJECT))
    assert logic.receive_order(order()) is OrderOutcome.REJECTED
    assert logic.receive_order(order("o2")) is OrderOutcome.REJECTED
    assert [e[0] for e in errors(logic)] == ["validationError", "validationError"]
    assert logic.order_id == ""


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("T01:disconnect", FaultSpec("T01", Fault(FaultKind.DISCONNECT), 0.0)),
        ("T02:slow:0.5@120", FaultSpec("T02", Fault(FaultKind.SLOW, 0.5), 120.0)),
        ("T03:out_of_order@7.5", FaultSpec("T03", Fault(FaultKind.OUT_OF_ORDER), 7.5)),
    ],
)
def test_fault_specs_parse(text: str, spec: FaultSpec) -> None:
    assert parse_fault_spec(text) == spec


@pytest.mark.parametrize(
    "text", ["T01", "T01:melt", "T01:slow", "T01:slow:0", "T01:stall:2", "T01:stall@x", ":stall"]
)
def test_bad_fault_specs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--fault"):
        parse_fault_spec(text)


def test_factsheet_has_the_v2_sections() -> None:
    body = factsheet_body(LANE_MAP.vehicle_class())
    assert set(body) == {
        "typeSpecification",
        "physicalParameters",
        "protocolLimits",
        "protocolFeatures",
        "agvGeometry",
        "loadSpecification",
    }
    assert body["physicalParameters"]["speedMax"] == pytest.approx(30 / 3.6, abs=1e-3)
    assert_valid("factsheet", stamped(body, "factsheet"))


# ---------------------------------------------------------------------- with a real broker


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, M, ["T01", "T02"])
    server.start()
    yield server
    server.cleanup()


class Controller:
    """The controller's side: reads uagv/#, publishes orders and instant actions (QoS 1)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.inbox: queue.Queue[tuple[str, dict[str, Any], float]] = queue.Queue()
        self.seen: list[tuple[str, dict[str, Any], float]] = []
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(CONTROLLER_USER, broker.passwords[CONTROLLER_USER])
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("uagv/#", qos=1)
        self.client.on_subscribe = lambda c, u, m, r, p: subscribed.put(True)
        self.problems: list[str] = []  # schema problems of anything seen or sent
        self.stamper = HeaderStamper(M)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        subscribed.get(timeout=5)

    def _on_message(self, client: mqtt.Client, userdata: Any, m: mqtt.MQTTMessage) -> None:
        self.problems += [f"{m.topic}: {p}" for p in check_payload(m.topic, m.payload)]
        self.inbox.put((m.topic, json.loads(m.payload), time.monotonic()))

    def send(self, serial: str, name: str, msg: dict[str, Any]) -> None:
        """Publish ``msg`` (QoS 1) with this controller's header for ``serial``."""
        body = {k: v for k, v in msg.items() if k not in ("headerId", "timestamp", "serialNumber")}
        stamped_msg = self.stamper.stamp(serial, name, body, time.time())
        self.problems += [f"sent {name}: {p}" for p in check_message(name, stamped_msg)]
        payload = json.dumps(stamped_msg)
        self.client.publish(topic(M, serial, name), payload, qos=1).wait_for_publish(5)

    def wait_for(
        self,
        serial: str,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        timeout_s: float = 5.0,
    ) -> tuple[dict[str, Any], float]:
        """The first message (seen before or arriving) on a topic that passes ``check``."""
        wanted = topic(M, serial, name)
        deadline = time.monotonic() + timeout_s
        index = 0
        while True:
            while index < len(self.seen):
                got, msg, at = self.seen[index]
                index += 1
                if got == wanted and check(msg):
                    return msg, at
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name} from {serial} passed the check in {timeout_s} s")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.inbox.get(timeout=remaining))

    def forget(self) -> None:
        """Drop what was seen so far (later waits look at new messages only)."""
        while not self.inbox.empty():
            self.inbox.get()
        self.seen.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def controller(broker: Mosquitto) -> Iterator[Controller]:
    spy = Controller(broker)
    yield spy
    spy.close()
    assert spy.problems == []


@pytest.fixture()
def fleet(broker: Mosquitto) -> Iterator[dict[str, EmulatedTruck]]:
    trucks = {
        t.serial: EmulatedTruck(t, M, LANE_MAP, 200.0, HeaderStamper(M))
        for t in FLEET.trucks
        if t.serial in ("T01", "T02")
    }
    for truck in trucks.values():
        truck.connect(broker.port, broker.passwords[truck.serial])
    with FleetLoop(list(trucks.values())):
        yield trucks
    for truck in trucks.values():
        truck.disconnect()


def at_node(node_id: str, driving: bool | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s["lastNodeId"] == node_id and driving in (None, s["driving"])


def test_order_and_update_over_mqtt(
    controller: Controller, fleet: dict[str, EmulatedTruck]
) -> None:
    online, _ = controller.wait_for("T01", "connection", lambda m: True)
    assert online["connectionState"] == "ONLINE"
    factsheet, _ = controller.wait_for("T01", "factsheet", lambda m: True)
    assert_valid("connection", online)
    assert_valid("factsheet", factsheet)
    controller.send("T01", "order", order(released_legs=2))
    stopped, _ = controller.wait_for("T01", "state", at_node("P-N", driving=False))
    assert [n["released"] for n in stopped["nodeStates"]] == [False] * 5
    assert_valid("state", stopped)
    time.sleep(0.5)  # 100 simulated seconds: it stays where the base ends
    controller.forget()
    still, _ = controller.wait_for("T01", "state", lambda s: True)
    assert (still["lastNodeId"], still["driving"]) == ("P-N", False)
    controller.send("T01", "order", order(update_id=1, stitch=2))
    done, _ = controller.wait_for("T01", "state", at_node("Z-VN", driving=False))
    assert (done["orderId"], done["orderUpdateId"], done["nodeStates"]) == ("o1", 1, [])
    # T02 got nothing and stands at home
    t02, _ = controller.wait_for("T02", "state", lambda s: True)
    assert (t02["orderId"], t02["lastNodeId"]) == ("", "Z-CN")


def test_wait_for_trigger_over_mqtt(
    controller: Controller, fleet: dict[str, EmulatedTruck]
) -> None:
    controller.wait_for("T02", "connection", lambda m: m["connectionState"] == "ONLINE")
    controller.send("T02", "order", order("o7", waits={4: "o7:clearance"}))
    held, _ = controller.wait_for("T02", "state", at_node("B0", driving=False))
    assert {
        "actionId": "o7:clearance",
        "actionType": "waitForTrigger",
        "actionStatus": "RUNNING",
    } in held["actionStates"]
    assert_valid("state", held)
    time.sleep(0.5)
    controller.forget()
    still, _ = controller.wait_for("T02", "state", lambda s: True)
    assert (still["lastNodeId"], still["driving"]) == ("B0", False)
    go = {
        "actionId": "t-7",
        "actionType": "trigger",
        "blockingType": "NONE",
        "actionParameters": [{"key": "actionId", "value": "o7:clearance"}],
    }
    controller.send("T02", "instantActions", instant(go))
    done, _ = controller.wait_for("T02", "state", at_node("Z-VN", driving=False))
    statuses = {a["actionId"]: a["actionStatus"] for a in done["actionStates"]}
    assert statuses == {"o7:clearance": "FINISHED", "t-7": "FINISHED"}


def test_duplicate_and_out_of_order_states(
    controller: Controller, fleet: dict[str, EmulatedTruck]
) -> None:
    controller.wait_for("T01", "connection", lambda m: m["connectionState"] == "ONLINE")
    fleet["T01"].inject(Fault(FaultKind.DUPLICATE))
    for i in range(3):
        controller.send("T01", "instantActions", instant(action(f"s-{i}", "stateRequest")))
    controller.wait_for(
        "T01", "state", lambda s: any(a["actionId"] == "s-2" for a in s["actionStates"])
    )
    ids = [m["headerId"] for t, m, _ in controller.seen if t.endswith("T01/state")]
    assert any(a == b for a, b in itertools.pairwise(ids))
    fleet["T01"].inject(Fault(FaultKind.RECOVER))
    fleet["T01"].inject(Fault(FaultKind.OUT_OF_ORDER))
    controller.forget()
    for i in range(6):
        controller.send("T01", "instantActions", instant(action(f"r-{i}", "stateRequest")))
    controller.wait_for(
        "T01", "state", lambda s: any(a["actionId"] == "r-5" for a in s["actionStates"])
    )
    ids = [m["headerId"] for t, m, _ in controller.seen if t.endswith("T01/state")]
    assert any(b < a for a, b in itertools.pairwise(ids))
    assert len(ids) == len(set(ids))  # no duplicates any more


def test_sigkill_fires_the_last_will_within_two_seconds(
    broker: Mosquitto, controller: Controller, tmp_path: Path
) -> None:
    credentials = tmp_path / "trucks.pw"
    credentials.write_text("".join(f"{s}:{broker.passwords[s]}\n" for s in ("T01", "T02")))
    cmd = [
        sys.executable, "-m", "corridor_sim.truck_emulator",
        "--port", str(broker.port), "--map", str(MAP_PATH), "--fleet", str(FLEET_PATH),
        "--credentials", str(credentials), "--time-scale", "200",
        "--only", "T01", "--fault", "T01:breakdown@0",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        controller.wait_for("T01", "connection", lambda m: m["connectionState"] == "ONLINE", 10)
        broken, _ = controller.wait_for(
            "T01", "state", lambda s: any(e["errorLevel"] == "FATAL" for e in s["errors"])
        )  # the CLI fault arrived
        assert broken["errors"][0]["errorType"] == "breakdown"
        killed_at = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        will, at = controller.wait_for(
            "T01", "connection", lambda m: m["connectionState"] == "CONNECTIONBROKEN", 5
        )
        assert at - killed_at < 2.0
        assert will["headerId"] > online_header(controller)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    controller.forget()
    with pytest.raises(AssertionError):  # only T01 ran in that process
        controller.wait_for("T02", "connection", lambda m: True, 0.3)


def online_header(controller: Controller) -> int:
    return max(
        m["headerId"]
        for t, m, _ in controller.seen
        if t.endswith("T01/connection") and m["connectionState"] == "ONLINE"
    )


def test_persistent_session_delivers_an_order_sent_while_away(
    controller: Controller, fleet: dict[str, EmulatedTruck]
) -> None:
    truck = fleet["T01"]
    controller.wait_for("T01", "connection", lambda m: m["connectionState"] == "ONLINE")
    truck.inject(Fault(FaultKind.DISCONNECT))
    controller.wait_for("T01", "connection", lambda m: m["connectionState"] == "CONNECTIONBROKEN")
    controller.send("T01", "order", order("o9", released_legs=1))
    time.sleep(0.3)
    assert truck.logic.order_id == ""  # away: nothing arrived
    controller.forget()
    truck.inject(Fault(FaultKind.RECONNECT))
    controller.wait_for("T01", "connection", lambda m: m["connectionState"] == "ONLINE")
    state, _ = controller.wait_for("T01", "state", at_node("G-CN", driving=False))
    assert state["orderId"] == "o9"
