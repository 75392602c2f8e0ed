"""Order execution of one emulated VDA 5050 v2.0 truck: pure, no MQTT, no wall clock.

:class:`TruckLogic` takes decoded ``order`` and ``instantActions`` messages and a simulated clock
(seconds) and keeps what the truck reports in its ``state``. The MQTT wrapper
(:mod:`corridor_sim.truck_emulator`) decodes, calls it from one thread and publishes.

Rules kept (VDA 5050 v2.0): a new ``orderId`` is taken only when idle and starting at the last
node; an update (same ``orderId``, higher ``orderUpdateId``) must start at the stitching node (the
last base node, same ``nodeId`` and ``sequenceId``) and replaces the horizon; the truck drives
released edges one by one (``length / maxSpeed``) and stops at the last released node; a
``waitForTrigger`` node action holds the truck until a ``trigger`` instant action names it.
Rejections stay in ``errors`` (WARNING) until the next accepted order.

Station work (with a :class:`~corridor_sim.truck_services.TruckServices`): on reaching a node the
truck stops at the map's stations there, as the simulator's service model says (gates, scanners,
token desk, weighbridge; at a yard the crane for a ``pick`` or ``drop`` node action and, before a
trip, a due battery swap). Each visit waits for a free server, then holds it for the drawn time;
meanwhile the truck reports ``driving: false``, its ``pick`` / ``drop`` as RUNNING (FINISHED
when the node's visits end; ``loads`` changes then) and the visit in ``information``
(``infoType`` STATION_QUEUE while waiting, STATION_SERVICE while served, references
``stationId`` and ``direction``). A ``cancelOrder`` fails the running ``pick`` / ``drop``, but
the visit under way is finished before the truck can drive again. Without services, ``pick``
and ``drop`` finish at once.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from corridor_core.errors import ConfigError
from corridor_core.lane_map import VehicleClass
from corridor_core.runs import Direction
from corridor_core.vda5050 import STATION_WORK_INFO, check_order
from corridor_sim.truck_services import TruckServices, Visit

WAITING, RUNNING, FINISHED, FAILED = "WAITING", "RUNNING", "FINISHED", "FAILED"
_DONE = (FINISHED, FAILED)
MAX_ERRORS = 20  # rejections kept in the state; the oldest go first
PICK, DROP = "pick", "drop"
STATION_QUEUE, STATION_SERVICE = STATION_WORK_INFO
PARAMETERS = {"trigger": "actionId", PICK: "loadId", DROP: "loadId"}  # factsheet action params


class OrderOutcome(Enum):
    """What the truck did with one order message."""

    ACCEPTED = "ACCEPTED"  # a new orderId
    UPDATED = "UPDATED"  # a higher orderUpdateId stitched onto the current order
    IGNORED = "IGNORED"  # the same update again, identical content
    REJECTED = "REJECTED"  # reported in ``errors``


class FaultKind(Enum):
    """Faults a test or scenario can inject into one truck."""

    DISCONNECT = "disconnect"  # drop TCP without DISCONNECT (last will fires), stay away
    RECONNECT = "reconnect"  # come back after DISCONNECT (persistent session)
    STALL = "stall"  # stop driving, keep reporting, no error
    SLOW = "slow"  # speed x value
    BREAKDOWN = "breakdown"  # stop, FATAL error, stay stopped
    REJECT = "reject"  # reject every next order (validationError)
    REFUSE_TRIGGER = "refuse_trigger"  # every trigger FAILED: its waitForTrigger keeps waiting
    DUPLICATE = "duplicate"  # send every state twice, same headerId
    OUT_OF_ORDER = "out_of_order"  # now and then send an older state after a newer one
    RECOVER = "recover"  # clear every fault above except a disconnect


TRANSPORT_FAULTS = frozenset(
    {FaultKind.DISCONNECT, FaultKind.RECONNECT, FaultKind.DUPLICATE, FaultKind.OUT_OF_ORDER}
)


@dataclass(frozen=True)
class Fault:
    """One fault; ``value`` is the speed factor of SLOW (0 < value)."""

    kind: FaultKind
    value: float | None = None

    def __post_init__(self) -> None:
        if self.kind is FaultKind.SLOW and not (self.value is not None and self.value > 0):
            raise ConfigError("fault", "", "slow needs a speed factor > 0, e.g. slow:0.5")
        if self.kind is not FaultKind.SLOW and self.value is not None:
            raise ConfigError("fault", "", f"{self.kind.value} takes no value")


@dataclass(frozen=True)
class FaultSpec:
    """A fault for one truck at a simulated time (seconds since the emulator started)."""

    serial: str
    fault: Fault
    at_s: float = 0.0


def parse_fault_spec(text: str) -> FaultSpec:
    """Parse ``SERIAL:KIND[:VALUE][@SIM_SECONDS]``, e.g. ``T01:slow:0.5@120``.

    Raises:
        ConfigError: naming the spec and the rule broken.
    """
    body, _, at = text.partition("@")
    parts = body.split(":")
    kinds = ", ".join(k.value for k in FaultKind)
    if len(parts) not in (2, 3) or not parts[0]:
        raise ConfigError("--fault", "", f"{text!r} must be SERIAL:KIND[:VALUE][@SIM_SECONDS]")
    try:
        kind = FaultKind(parts[1])
    except ValueError:
        raise ConfigError("--fault", "", f"{text!r}: kind must be one of {kinds}") from None
    try:
        value = float(parts[2]) if len(parts) == 3 else None
        at_s = float(at) if at else 0.0
    except ValueError:
        raise ConfigError("--fault", "", f"{text!r}: VALUE and SIM_SECONDS are numbers") from None
    if not at_s >= 0:
        raise ConfigError("--fault", "", f"{text!r}: SIM_SECONDS must be >= 0")
    try:
        return FaultSpec(parts[0], Fault(kind, value), at_s)
    except ConfigError as exc:
        raise ConfigError("--fault", "", f"{text!r}: {exc.rule}") from None


def order_problems(order: dict[str, Any]) -> list[str]:
    """Problems with an order or an order update; empty when it is valid.

    :func:`corridor_core.vda5050.check_order` checks the structure; an update starts at its
    stitching node's sequenceId, so the order is checked with its sequenceIds shifted to 0.
    Actions, positions, lengths and speeds, which the truck uses, are checked here.
    """
    nodes = order.get("nodes")
    first = (
        nodes[0].get("sequenceId")
        if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict)
        else 0
    )
    if not isinstance(first, int) or isinstance(first, bool) or first < 0 or first % 2:
        return ["nodes[0].sequenceId must be an even integer >= 0"]
    if first:
        shifted = copy.deepcopy(order)
        for item in [*shifted["nodes"], *(shifted.get("edges") or [])]:
            if isinstance(item, dict) and isinstance(item.get("sequenceId"), int):
                item["sequenceId"] -= first
        note = f" (counted from nodes[0].sequenceId {first})"
        problems = [p + note for p in check_order(shifted)]
    else:
        problems = check_order(order)
    if problems:
        return problems
    for kind in ("nodes", "edges"):
        for i, item in enumerate(order[kind]):
            problems += _item_problems(item, f"{kind}[{i}]")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _item_problems(item: dict[str, Any], where: str) -> list[str]:
    problems = []
    for j, action in enumerate(item["actions"]):
        if not isinstance(action, dict) or not all(
            isinstance(action.get(k), str) for k in ("actionId", "actionType", "blockingType")
        ):
            problems.append(f"{where}.actions[{j}] needs string actionId, actionType, blockingType")
    pos = item.get("nodePosition")
    if pos is not None and not (
        isinstance(pos, dict) and _number(pos.get("x")) and _number(pos.get("y"))
    ):
        problems.append(f"{where}.nodePosition needs numbers x and y")
    for key in ("maxSpeed", "length"):
        value = item.get(key)
        if value is not None and not (_number(value) and value >= 0):
            problems.append(f"{where}.{key} must be a number >= 0")
    return problems


def _content_key(order: dict[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in order.items() if k not in ("headerId", "timestamp")}, sort_keys=True
    )


def _error(error_type: str, level: str, text: str, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "errorType": error_type,
        "errorLevel": level,
        "errorDescription": text,
        "errorReferences": [{"referenceKey": k, "referenceValue": str(v)} for k, v in refs.items()],
    }


class TruckLogic:
    """State machine of one truck; every method runs on one thread (the caller's).

    Args:
        serial: VDA 5050 serialNumber.
        node_id: the node the truck stands on at start (its lastNodeId).
        x_m, y_m: position of that node, metres.
        map_id: mapId reported in ``agvPosition``.
        default_speed_mps: speed on edges without ``maxSpeed``, m/s.
        services: the truck's station work; None: it only drives.
    """

    def __init__(
        self,
        serial: str,
        node_id: str,
        x_m: float,
        y_m: float,
        map_id: str,
        default_speed_mps: float,
        services: TruckServices | None = None,
    ) -> None:
        self.serial = serial
        self.services = services
        self.loads: list[str] = []  # loadIds on the truck
        self.one_way_trips = 0  # orders ended at a yard since the last battery swap
        self.direction = Direction.SOUTHBOUND  # of the last leg started or driven
        self._visits: list[Visit] = []  # station visits still to make at this node
        self._booked: tuple[Visit, float, float] | None = None  # visit, start_s, end_s
        self._in_service = False  # the booked visit has started
        self._work: list[dict[str, Any]] = []  # pick / drop actions running at this node
        self._entry_s: float | None = None  # booked entry onto the next segment
        self.map_id = map_id
        self.default_speed_mps = default_speed_mps
        self.clock_s = 0.0
        self.order_id = ""
        self.order_update_id = 0
        self.last_node_id = node_id
        self.last_node_sequence_id = 0
        self.x_m, self.y_m = x_m, y_m
        self.driving = False
        self.paused = False
        self._nodes: list[dict[str, Any]] = []  # pending nodes; _edges[i] leads to _nodes[i]
        self._edges: list[dict[str, Any]] = []
        self._order_key = ""
        self._cancelled = False
        self._actions: dict[str, dict[str, Any]] = {}  # actionId -> actionState
        self._blocking: dict[str, str] = {}  # actionId -> blockingType of order actions
        self._holding: set[str] = set()  # running blocking actions at the current node
        self._cancel_action: str | None = None  # cancelOrder running until the next node
        self._leg_remaining_m: float | None = None  # None: standing on lastNodeId
        self._order_errors: list[dict[str, Any]] = []
        self._fault_errors: list[dict[str, Any]] = []
        self._stalled = False
        self._broken = False
        self._rejecting = False
        self._refusing_triggers = False
        self._speed_factor = 1.0
        self.speed_cap_mps: float | None = None  # a condition of the world (fog); None: none

    # ------------------------------------------------------------------ orders

    def is_idle(self) -> bool:
        """No pending nodes or edges and no order action still to finish."""
        return (
            not self._nodes
            and not self._edges
            and self._cancel_action is None
            and all(self._actions[a]["actionStatus"] in _DONE for a in self._blocking)
        )

    def receive_order(self, order: dict[str, Any]) -> OrderOutcome:
        """Take, stitch, ignore or reject an order (header included)."""
        problems = order_problems(order)
        if problems:
            return self.reject("validationError", f"VALIDATION_FAILURE: {'; '.join(problems[:5])}")
        refs = {
            "headerId": order["headerId"],
            "orderId": order["orderId"],
            "orderUpdateId": order["orderUpdateId"],
        }
        if self._rejecting:
            return self.reject("validationError", "VALIDATION_FAILURE: injected fault", refs)
        order_id, update_id, first = order["orderId"], order["orderUpdateId"], order["nodes"][0]
        if self.order_id and order_id == self.order_id:
            if update_id < self.order_update_id:
                return self.reject(
                    "orderUpdateError",
                    f"OUTDATED_ORDER_UPDATE: {update_id} < current {self.order_update_id}",
                    refs,
                )
            if update_id == self.order_update_id:
                if _content_key(order) == self._order_key:
                    return OrderOutcome.IGNORED
                return self.reject(
                    "orderUpdateError", "SAME_ORDER_UPDATE_ID: same id, different content", refs
                )
            if self._cancelled:
                return self.reject(
                    "orderUpdateError", "ORDER_UPDATE_FOLLOWING_CANCEL: order was cancelled", refs
                )
            stitch = self._stitching_node()
            if (first["nodeId"], first["sequenceId"]) != stitch:
                return self.reject(
                    "orderUpdateError",
                    f"STITCHING_NODE_MISMATCH: update starts at {first['nodeId']}/"
                    f"{first['sequenceId']}, base ends at {stitch[0]}/{stitch[1]}",
                    refs,
                )
            self._apply_update(order)
            return OrderOutcome.UPDATED
        if not self.is_idle():
            return self.reject(
                "orderError", f"OTHER_ORDER_ACTIVE: order {self.order_id} is active", refs
            )
        if first["nodeId"] != self.last_node_id:
            return self.reject(
                "noRouteError",
                f"START_NODE_OUT_OF_RANGE: truck is at {self.last_node_id}, "
                f"order starts at {first['nodeId']}",
                refs,
            )
        self._apply_new(order)
        return OrderOutcome.ACCEPTED

    def reject(
        self, error_type: str, text: str, refs: dict[str, Any] | None = None
    ) -> OrderOutcome:
        """Record a rejected order (WARNING) in ``errors``; also for undecodable payloads."""
        self._order_errors = [
            *self._order_errors[-(MAX_ERRORS - 1) :],
            _error(error_type, "WARNING", text, refs or {}),
        ]
        return OrderOutcome.REJECTED

    def _stitching_node(self) -> tuple[str, int]:
        released = [n for n in self._nodes if n["released"]]
        if released:
            return released[-1]["nodeId"], released[-1]["sequenceId"]
        return self.last_node_id, self.last_node_sequence_id

    def _apply_new(self, order: dict[str, Any]) -> None:
        self.order_id, self.order_update_id = order["orderId"], order["orderUpdateId"]
        self._order_key = _content_key(order)
        self._cancelled = False
        self._order_errors = []
        self._actions, self._blocking, self._holding = {}, {}, set()
        first, *rest = copy.deepcopy(order["nodes"])
        self.last_node_sequence_id = first["sequenceId"]
        self._nodes, self._edges = rest, copy.deepcopy(order["edges"])
        for item in [first, *self._nodes, *self._edges]:
            self._register(item["actions"])
        self._leg_remaining_m = None
        self._work = [a for a in self._work if a["actionId"] in self._actions]
        started = self._run_node_actions(first["actions"])
        self._plan_start(self._nodes[0]["nodeId"] if self._nodes else "", started)

    def _apply_update(self, order: dict[str, Any]) -> None:
        self.order_update_id = order["orderUpdateId"]
        self._order_key = _content_key(order)
        self._order_errors = []
        first, *rest = copy.deepcopy(order["nodes"])
        edges = copy.deepcopy(order["edges"])
        resent = {a["actionId"] for item in [first, *rest, *edges] for a in item["actions"]}
        base = 0
        while base < len(self._nodes) and self._nodes[base]["released"]:
            base += 1
        for item in [*self._nodes[base:], *self._edges[base:]]:  # the old horizon goes
            for action in item["actions"]:
                if action["actionId"] not in resent:  # resent ones keep their state (triggered)
                    self._actions.pop(action["actionId"], None)
                    self._blocking.pop(action["actionId"], None)
        del self._nodes[base:], self._edges[base:]
        added = [a for a in first["actions"] if a["actionId"] not in self._actions]
        self._register(added)
        if base:  # the stitching node is still ahead
            self._nodes[base - 1]["actions"] += added
        else:  # the truck stands on it
            self._plan_work_visits(self._run_node_actions(added))
        for item in [*rest, *edges]:
            self._register(item["actions"])
        self._nodes += rest
        self._edges += edges

    def _register(self, actions: list[dict[str, Any]]) -> None:
        for action in actions:
            if action["actionId"] in self._actions:  # known: keep its state
                continue
            self._actions[action["actionId"]] = {
                "actionId": action["actionId"],
                "actionType": action.get("actionType", ""),
                "actionStatus": WAITING,
            }
            self._blocking[action["actionId"]] = str(action.get("blockingType", "HARD"))

    def _set_status(self, action_id: str, status: str, result: str | None = None) -> None:
        state = self._actions[action_id]
        state["actionStatus"] = status
        if result is not None:
            state["resultDescription"] = result
        if status in _DONE:
            self._holding.discard(action_id)

    def _run_node_actions(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Start the actions of the node the truck stands on; returns the pick / drop started."""
        started = []
        for action in actions:
            action_id = action["actionId"]
            if self._actions[action_id]["actionStatus"] in _DONE:  # e.g. triggered in advance
                continue
            if action.get("actionType") in ("waitForTrigger", PICK, DROP):
                self._set_status(action_id, RUNNING)
                if self._blocking[action_id] != "NONE":
                    self._holding.add(action_id)
                if action.get("actionType") != "waitForTrigger":
                    self._work.append(action)
                    started.append(action)
            else:  # nothing to do physically: unknown and simple actions finish at once
                self._set_status(action_id, FINISHED)
        return started

    # ------------------------------------------------------------------ station work

    def _work_visits(self, node: str, started: list[dict[str, Any]]) -> list[Visit]:
        assert self.services is not None
        visits: list[Visit] = []
        for action in started:
            if action["actionType"] == PICK:
                visits += self.services.load_visits(node, self.direction)
            elif action["actionType"] == DROP:
                visits += self.services.unload_visits(node, self.direction)
        return visits

    def _plan_start(self, next_node: str, started: list[dict[str, Any]]) -> None:
        """Visits at the start node of a new order: a due battery swap at a yard, the crane."""
        node = self.last_node_id
        if self.services is None:
            self._plan_done()
            return
        self.direction = self.services.direction(node, next_node) or self.direction
        swap = self.services.swap_visit(node, self.direction, self.one_way_trips)
        if swap:
            self.one_way_trips = 0
        self._visits += swap + self._work_visits(node, started)
        self._plan_done()

    def _plan_work_visits(self, started: list[dict[str, Any]]) -> None:
        if self.services is not None:
            self._visits += self._work_visits(self.last_node_id, started)
        self._plan_done()

    def _plan_arrival(self, from_node: str, started: list[dict[str, Any]]) -> None:
        """Visits on reaching ``last_node_id`` from ``from_node``."""
        node, svc = self.last_node_id, self.services
        if svc is None:
            self._plan_done()
            return
        self.direction = svc.direction(from_node, node) or self.direction
        if not svc.is_yard(node):
            self._visits += svc.lane_visits(node, self.direction, bool(self.loads))
        elif not self._nodes:  # the order ends at a yard: one trip more
            self.one_way_trips += 1
            if self.loads and not any(a["actionType"] == DROP for a in started):
                self.loads = []  # a load brought back (its run was taken back) is set down
        self._visits += self._work_visits(node, started)
        self._plan_done()

    def _plan_done(self) -> None:
        if not self._visits and self._booked is None:
            self._finish_work()

    def _finish_work(self) -> None:
        """The node's visits are over: its pick / drop actions finish, and the loads change."""
        for action in self._work:
            action_id = action["actionId"]
            state = self._actions.get(action_id)
            if state is None or state["actionStatus"] in _DONE:  # failed by a cancel
                continue
            self._set_status(action_id, FINISHED)
            params = action.get("actionParameters")
            load_id = next(
                (
                    str(p.get("value"))
                    for p in (params if isinstance(params, list) else [])
                    if isinstance(p, dict) and p.get("key") == "loadId"
                ),
                action_id,
            )
            if action["actionType"] == PICK and load_id not in self.loads:
                self.loads.append(load_id)
            elif action["actionType"] == DROP:
                self.loads = [x for x in self.loads if x != load_id]
        self._work = []

    def serving(self) -> bool:
        """At a station, waiting for or being served."""
        return bool(self._visits) or self._booked is not None

    def _step_service(self, now_s: float) -> bool:
        """Move station work to its next event at or before ``now_s``; True when one happened
        (the clock is then at that event)."""
        if self._booked is None:
            if not self._visits or self.services is None:
                return False
            visit = self._visits.pop(0)
            start_s, end_s = self.services.book(visit, self.clock_s)
            self._booked = (visit, start_s, end_s)
            self._in_service = start_s <= self.clock_s
            return True
        _, start_s, end_s = self._booked
        if not self._in_service:
            if start_s > now_s:
                return False
            self.clock_s, self._in_service = max(self.clock_s, start_s), True
            return True
        if end_s > now_s:
            return False
        self.clock_s = max(self.clock_s, end_s)
        self._booked = None
        if not self._visits:
            self._finish_work()
        return True

    # ------------------------------------------------------------------ driving

    def _can_move(self) -> bool:
        return not (self.paused or self._stalled or self._broken)

    def _may_start_leg(self) -> bool:
        return bool(
            self._edges
            and self._edges[0]["released"]
            and self._nodes[0]["released"]
            and not self._holding
            and not self.serving()
        )

    def _speed_mps(self) -> float:
        speed = float(self._edges[0].get("maxSpeed") or self.default_speed_mps)
        if self.speed_cap_mps is not None:
            speed = min(speed, self.speed_cap_mps)
        return speed * self._speed_factor

    def advance(self, now_s: float) -> bool:
        """Move the simulated clock to ``now_s`` (seconds), stopping at the first event.

        Returns True when the state changed (call again until False to see every event).
        """
        now_s = max(now_s, self.clock_s)
        if self._step_service(now_s):
            return True
        if self.serving():
            self.clock_s = now_s
            return self._set_driving(False)
        ready = self._leg_remaining_m is None and self._can_move() and self._may_start_leg()
        if not ready:
            self._entry_s = None
        elif self._entry_wait(now_s):
            self.clock_s = now_s
            return self._set_driving(False)
        if ready:
            edge, node = self._edges[0], self._nodes[0]
            if self.services is not None:
                self.direction = (
                    self.services.direction(self.last_node_id, node["nodeId"]) or self.direction
                )
            pos = node.get("nodePosition") or {}
            gap_m = math.hypot(pos.get("x", self.x_m) - self.x_m, pos.get("y", self.y_m) - self.y_m)
            self._leg_remaining_m = float(edge.get("length") or max(1.0, gap_m))
            for action in edge["actions"]:
                self._set_status(action["actionId"], FINISHED)
            if not self.driving:  # the departure is an event of its own, at its instant
                return self._set_driving(True)
        if self._leg_remaining_m is None or not self._can_move():
            self.clock_s = now_s
            return self._set_driving(False)
        speed = self._speed_mps()
        need_s = self._leg_remaining_m / speed
        if now_s - self.clock_s < need_s:
            self._leg_remaining_m -= (now_s - self.clock_s) * speed
            self.clock_s = now_s
            return self._set_driving(True)
        self.clock_s += need_s
        self._arrive()
        return True

    def _entry_wait(self, now_s: float) -> bool:
        """Must the truck, ready to drive, wait for the following headway behind the truck
        that entered the segment before it? Moves the clock to the entry time when it may go."""
        lanes = self.services.lanes if self.services is not None else None
        if lanes is None:
            return False
        if self._entry_s is None:
            edge = self._edges[0]
            start, end = edge.get("startNodeId", self.last_node_id), self._nodes[0]["nodeId"]
            self._entry_s = lanes.book(str(start), str(end), self.clock_s, self._speed_mps())
        if self._entry_s > now_s:
            return True
        self.clock_s, self._entry_s = max(self.clock_s, self._entry_s), None
        return False

    def _set_driving(self, driving: bool) -> bool:
        changed = driving != self.driving
        self.driving = driving
        return changed

    def _arrive(self) -> None:
        node = self._nodes.pop(0)
        self._edges.pop(0)
        self._leg_remaining_m = None
        came_from = self.last_node_id
        self.last_node_id, self.last_node_sequence_id = node["nodeId"], node["sequenceId"]
        pos = node.get("nodePosition") or {}
        self.x_m, self.y_m = float(pos.get("x", self.x_m)), float(pos.get("y", self.y_m))
        if self._cancel_action is not None:
            self._nodes.clear()
            self._edges.clear()
            self._set_status(self._cancel_action, FINISHED)
            self._cancel_action = None
            started = []
        else:
            started = self._run_node_actions(node["actions"])
        self._plan_arrival(came_from, started)
        self.driving = self._can_move() and self._may_start_leg()

    # ------------------------------------------------------------------ instant actions

    def receive_instant_actions(self, msg: dict[str, Any]) -> list[str]:
        """Run the actions of an ``instantActions`` message.

        Returns the extra topics the wrapper must publish now (``["factsheet"]`` on a request).
        """
        actions = msg.get("actions")
        if not isinstance(actions, list):
            self.reject(
                "validationError", "VALIDATION_FAILURE: instantActions.actions must be list"
            )
            return []
        extra: list[str] = []
        for i, action in enumerate(actions):
            if not isinstance(action, dict) or not all(
                isinstance(action.get(k), str) for k in ("actionId", "actionType")
            ):
                self.reject(
                    "validationError",
                    f"VALIDATION_FAILURE: actions[{i}] needs string actionId and actionType",
                )
                continue
            action_id, kind = action["actionId"], action["actionType"]
            self._actions[action_id] = {
                "actionId": action_id,
                "actionType": kind,
                "actionStatus": RUNNING,
            }
            if kind == "startPause":
                self.paused = True
            elif kind == "stopPause":
                self.paused = False
            elif kind == "cancelOrder":
                self._cancel(action_id)
                continue
            elif kind == "trigger" and self._refusing_triggers:
                self._set_status(action_id, FAILED, "trigger refused (injected fault)")
                continue
            elif kind == "trigger":
                self._trigger(action_id, action)
                continue
            elif kind == "factsheetRequest":
                extra.append("factsheet")
            elif kind != "stateRequest":
                self._set_status(action_id, FAILED, f"instant action {kind} is not supported")
                continue
            self._set_status(action_id, FINISHED)
        return extra

    def _trigger(self, action_id: str, action: dict[str, Any]) -> None:
        params = action.get("actionParameters")
        params = params if isinstance(params, list) else []
        target = next(
            (p.get("value") for p in params if isinstance(p, dict) and p.get("key") == "actionId"),
            None,
        )
        state = self._actions.get(target) if isinstance(target, str) else None
        if (
            state is None
            or state["actionType"] != "waitForTrigger"
            or state["actionStatus"] in _DONE
        ):
            self._set_status(action_id, FAILED, f"no waitForTrigger {target!r} to trigger")
            return
        self._set_status(str(target), FINISHED, f"triggered by {action_id}")
        self._set_status(action_id, FINISHED)

    def _cancel(self, action_id: str) -> None:
        if self.is_idle():
            self._set_status(action_id, FAILED, "no order to cancel")
            self._order_errors = [
                *self._order_errors[-(MAX_ERRORS - 1) :],
                _error("noOrderToCancel", "WARNING", "cancelOrder while idle", {}),
            ]
            return
        self._cancelled = True
        for other, state in self._actions.items():
            if other in self._blocking and state["actionStatus"] not in _DONE:
                self._set_status(other, FAILED, "order cancelled")
        if self._leg_remaining_m is None:  # standing on a node: stop here
            self._nodes.clear()
            self._edges.clear()
            self._set_status(action_id, FINISHED)
            return
        # On an edge: finish it (a truck cannot stop in the lane), then stop.
        del self._nodes[1:], self._edges[1:]
        self._cancel_action = action_id

    # ------------------------------------------------------------------ faults

    def inject(self, fault: Fault) -> None:
        """Apply a fault that changes behaviour; transport faults are the wrapper's."""
        if fault.kind is FaultKind.STALL:
            self._stalled = True
        elif fault.kind is FaultKind.SLOW:
            self._speed_factor = float(fault.value or 1.0)
        elif fault.kind is FaultKind.BREAKDOWN:
            self._broken = True
            self._fault_errors = [
                _error("breakdown", "FATAL", "truck broke down; needs a person", {})
            ]
        elif fault.kind is FaultKind.REJECT:
            self._rejecting = True
        elif fault.kind is FaultKind.REFUSE_TRIGGER:
            self._refusing_triggers = True
        elif fault.kind is FaultKind.RECOVER:
            self._stalled = self._broken = self._rejecting = self._refusing_triggers = False
            self._speed_factor = 1.0
            self._fault_errors = []

    # ------------------------------------------------------------------ state

    def state_body(self) -> dict[str, Any]:
        """The body (no header) of a VDA 5050 v2.0 ``state`` message."""
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
                    **({"nodePosition": n["nodePosition"]} if "nodePosition" in n else {}),
                }
                for n in self._nodes
            ],
            "edgeStates": [
                {"edgeId": e["edgeId"], "sequenceId": e["sequenceId"], "released": e["released"]}
                for e in self._edges
            ],
            "driving": self.driving,
            "paused": self.paused,
            "actionStates": [dict(a) for a in self._actions.values()],
            "loads": [
                {"loadId": x, "loadType": "ISO_CONTAINER", "loadPosition": "trailer"}
                for x in self.loads
            ],
            "batteryState": {"batteryCharge": 100.0, "charging": False},
            "operatingMode": "AUTOMATIC",
            "errors": [dict(e) for e in [*self._order_errors, *self._fault_errors]],
            "information": self._information(),
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
            "agvPosition": {
                "x": self.x_m,
                "y": self.y_m,
                "theta": 0.0,
                "mapId": self.map_id,
                "positionInitialized": True,
            },
        }

    def _information(self) -> list[dict[str, Any]]:
        if self._booked is None:
            return []
        visit = self._booked[0]
        kind = STATION_SERVICE if self._in_service else STATION_QUEUE
        what = "served at" if self._in_service else "waiting for"
        return [
            {
                "infoType": kind,
                "infoLevel": "INFO",
                "infoDescription": f"{what} station {visit.station_id}",
                "infoReferences": [
                    {"referenceKey": "stationId", "referenceValue": visit.station_id},
                    {"referenceKey": "direction", "referenceValue": visit.direction.value},
                ],
            }
        ]


def factsheet_body(vehicle: VehicleClass, series: str = "Corridor e-tractor") -> dict[str, Any]:
    """The body of a minimal VDA 5050 v2.0 ``factsheet`` for trucks of ``vehicle``'s class."""
    actions = [
        ("waitForTrigger", ["NODE"], "hold on the node until a trigger names this action"),
        ("pick", ["NODE"], "load the container named by parameter loadId at the yard crane"),
        ("drop", ["NODE"], "unload the container named by parameter loadId at the yard crane"),
        ("trigger", ["INSTANT"], "finish the waitForTrigger named by parameter actionId"),
        ("startPause", ["INSTANT"], "stop driving"),
        ("stopPause", ["INSTANT"], "resume driving"),
        ("cancelOrder", ["INSTANT"], "stop at the next node and drop the order"),
        ("stateRequest", ["INSTANT"], "publish state now"),
        ("factsheetRequest", ["INSTANT"], "publish the factsheet now"),
    ]
    half_w, length = 1.25, vehicle.length_m
    return {
        "typeSpecification": {
            "seriesName": series,
            "seriesDescription": f"autonomous tractor, vehicle class {vehicle.class_id}",
            "agvKinematic": "THREEWHEEL",
            "agvClass": "CARRIER",
            "maxLoadMass": 36000.0,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.1,
            "speedMax": round(vehicle.max_speed_kph / 3.6, 3),
            "accelerationMax": vehicle.accel_empty_mps2,
            "decelerationMax": vehicle.emergency_braking_mps2,
            "heightMin": 4.0,
            "heightMax": 4.0,
            "width": 2 * half_w,
            "length": length,
        },
        "protocolLimits": {
            "maxStringLens": {"idLen": 64},
            "maxArrayLens": {"order.nodes": 64, "order.edges": 63},
            "timing": {"minOrderInterval": 0.1, "minStateInterval": 0.02},
        },
        "protocolFeatures": {
            "optionalParameters": [
                {"parameter": "order.edges.maxSpeed", "support": "SUPPORTED"},
                {"parameter": "order.edges.length", "support": "SUPPORTED"},
                {"parameter": "order.nodes.nodePosition", "support": "SUPPORTED"},
            ],
            "agvActions": [
                {
                    "actionType": kind,
                    "actionScopes": scopes,
                    "actionDescription": text,
                    **(
                        {"actionParameters": [{"key": PARAMETERS[kind], "valueDataType": "STRING"}]}
                        if kind in PARAMETERS
                        else {}
                    ),
                }
                for kind, scopes, text in actions
            ],
        },
        "agvGeometry": {
            "envelopes2d": [
                {
                    "set": "default",
                    "polygonPoints": [
                        {"x": 0.0, "y": -half_w},
                        {"x": length, "y": -half_w},
                        {"x": length, "y": half_w},
                        {"x": 0.0, "y": half_w},
                    ],
                }
            ]
        },
        "loadSpecification": {
            "loadPositions": ["trailer"],
            "loadSets": [{"setName": "DEFAULT", "loadType": "ISO_CONTAINER"}],
        },
    }
