"""One truck's VDA 5050 order stream: a new order per trip, order updates as the base grows.

Pure. A trip's stops become the order's nodes (stop ``i`` has sequenceId ``2 i``, the edge after
it ``2 i + 1``), so sequenceIds stay fixed across updates. An order starts with only its first
node released and the rest as horizon; each :meth:`OrderFeed.extend` is an order update that
starts at the stitching node (the last base node, resent unchanged) and releases up to a new
index. The feed remembers the last message body until the truck's state acknowledges it
(same ``orderId``, ``orderUpdateId`` at least as high), so it can be sent again.

Node actions: a loaded trip's order carries ``pick`` on its first node when the truck loads
there (the run's origin yard) and ``drop`` on its last node when that is the run's destination
(both HARD, parameter ``loadId`` = the container number: the truck stands under the crane until
they finish), and ``waitForTrigger`` on the checkpoint gate (see :func:`wait_action`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from corridor_core.lane_map import LaneMap
from corridor_core.vda5050 import StateReport, build_order

WAIT_FOR_TRIGGER = "waitForTrigger"
TRIGGER = "trigger"
PICK, DROP = "pick", "drop"
# Action states that mean an action has not run to its end yet.
OPEN_ACTION_STATES = ("WAITING", "INITIALIZING", "RUNNING", "PAUSED")


def wait_action(action_id: str) -> dict[str, Any]:
    """A ``waitForTrigger`` node action (HARD: the truck stands still while it runs)."""
    return {
        "actionId": action_id,
        "actionType": WAIT_FOR_TRIGGER,
        "blockingType": "HARD",
        "actionDescription": "wait at the checkpoint gate until customs clears the container",
        "actionParameters": [{"key": "triggerType", "value": "clearance"}],
    }


def load_action(action_id: str, action_type: str, load_id: str) -> dict[str, Any]:
    """A ``pick`` or ``drop`` node action for the container ``load_id`` (HARD: the truck stands
    under the crane while it runs)."""
    what = "load" if action_type == PICK else "unload"
    return {
        "actionId": action_id,
        "actionType": action_type,
        "blockingType": "HARD",
        "actionDescription": f"{what} container {load_id} at the yard crane",
        "actionParameters": [{"key": "loadId", "value": load_id}],
    }


def instant_action(action_id: str, action_type: str, **params: str) -> dict[str, Any]:
    """An instant action (blockingType NONE, as VDA 5050 requires for instant actions)."""
    action: dict[str, Any] = {
        "actionId": action_id,
        "actionType": action_type,
        "blockingType": "NONE",
    }
    if params:
        action["actionParameters"] = [{"key": k, "value": v} for k, v in sorted(params.items())]
    return action


@dataclass
class OrderFeed:
    """The order a truck is driving, as the controller sent it.

    Attributes:
        truck: serialNumber.
        order_id: current orderId ("" before the first order).
        update_id: orderUpdateId of the last message sent.
        run_id: run the trip carries ("" for an empty drive).
        stops: node ids of the trip, in order.
        released: index of the last released stop sent.
        wait_index: stop carrying the ``waitForTrigger`` action, if any.
        last_body: the last message body sent (to re-send until acknowledged).
        sent_at_s: when it was (last) sent, on the controller's clock.
        acked: the truck's state showed ``order_id`` at ``update_id`` or later.
        triggered_at_s: when the trigger for ``wait_index`` was sent (inf: not yet).
        load_id: container number of the trip's load ("" for an empty drive).
        pick: the first stop carries ``pick`` (the truck loads there).
        drop: the last stop carries ``drop`` (the truck unloads there).
    """

    truck: str
    order_id: str = ""
    update_id: int = 0
    run_id: str = ""
    stops: tuple[str, ...] = ()
    released: int = -1
    wait_index: int | None = None
    last_body: dict[str, Any] | None = None
    sent_at_s: float = -math.inf
    acked: bool = True
    triggered_at_s: float = math.inf
    sends: int = 0
    load_id: str = ""
    pick: bool = False
    drop: bool = False
    _routes: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        """An order was sent and its route is not fully released or not yet driven."""
        return bool(self.order_id) and bool(self.stops)

    @property
    def fully_released(self) -> bool:
        """Every stop of the order is released."""
        return self.released >= len(self.stops) - 1

    @property
    def wait_action_id(self) -> str:
        """actionId of this order's ``waitForTrigger`` ("" when it has none)."""
        return f"{self.order_id}:clearance" if self.wait_index is not None else ""

    @property
    def drop_action_id(self) -> str:
        """actionId of this order's ``drop`` ("" when it has none)."""
        return f"{self.order_id}:drop" if self.drop else ""

    def unloading(self, action_states: Sequence[tuple[str, str]]) -> bool:
        """The truck's ``action_states`` (actionId, actionStatus) show this order's ``drop``
        not yet run to its end."""
        drop = self.drop_action_id
        return bool(drop) and any(a == drop and s in OPEN_ACTION_STATES for a, s in action_states)

    def start(
        self,
        lane_map: LaneMap,
        order_id: str,
        run_id: str,
        stops: Sequence[str],
        released: int,
        wait_index: int | None,
        now_s: float,
        *,
        load_id: str = "",
        pick: bool = False,
        drop: bool = False,
    ) -> dict[str, Any]:
        """A new order over ``stops`` with stops ``0..released`` released. Returns its body.

        ``pick`` / ``drop`` put those actions for container ``load_id`` on the first / last stop.
        """
        self.order_id, self.update_id, self.run_id = order_id, 0, run_id
        self.load_id, self.pick, self.drop = load_id, pick and bool(load_id), drop and bool(load_id)
        self.stops, self.released, self.wait_index = tuple(stops), released, wait_index
        self.triggered_at_s = math.inf
        return self._send(self._body(lane_map, 0), now_s)

    def extend(
        self, lane_map: LaneMap, stops: Sequence[str], released: int, now_s: float
    ) -> dict[str, Any]:
        """An order update from the stitching node: releases up to ``released`` and replaces
        the horizon with ``stops[released + 1:]``. The base already sent must not change.

        Raises:
            ValueError: when ``stops`` changes the base sent or ``released`` shrinks it.
        """
        if tuple(stops[: self.released + 1]) != self.stops[: self.released + 1]:
            raise ValueError(f"{self.truck}: an order update may not change the released base")
        if released < self.released or released >= len(stops):
            raise ValueError(f"{self.truck}: cannot release stop {released} of {len(stops)}")
        stitch = self.released
        self.stops, self.released = tuple(stops), released
        self.update_id += 1
        return self._send(self._body(lane_map, stitch), now_s)

    def on_state(self, report: StateReport) -> None:
        """Note an acknowledgement carried by a state."""
        if report.order_id == self.order_id and report.order_update_id >= self.update_id:
            self.acked = True

    def resend_due(self, now_s: float, after_s: float) -> dict[str, Any] | None:
        """The body to send again when it is unacknowledged for ``after_s``, else None."""
        if self.acked or self.last_body is None or now_s - self.sent_at_s < after_s:
            return None
        self.sent_at_s = now_s
        self.sends += 1
        return self.last_body

    def _send(self, body: dict[str, Any], now_s: float) -> dict[str, Any]:
        self.last_body, self.sent_at_s, self.acked = body, now_s, False
        self.sends += 1
        return body

    def _leg(self, lane_map: LaneMap, a: str, b: str) -> Any:
        if (a, b) not in self._routes:
            legs = lane_map.route(a, b)
            if len(legs) != 1:
                raise ValueError(f"stops {a} and {b} are not neighbours on {lane_map.name}")
            self._routes[(a, b)] = legs[0]
        return self._routes[(a, b)]

    def _body(self, lane_map: LaneMap, first: int) -> dict[str, Any]:
        legs = [
            self._leg(lane_map, self.stops[i], self.stops[i + 1])
            for i in range(first, len(self.stops) - 1)
        ]
        actions: dict[int, list[dict[str, Any]]] = {}
        if self.pick and first == 0:
            actions[0] = [load_action(f"{self.order_id}:pick", PICK, self.load_id)]
        # an update starts at the stitching node: an action already sent there is not sent
        # again (VDA 5050 would append it, and the truck would wait twice)
        if self.wait_index is not None and (
            self.wait_index > first or (self.wait_index == first and self.update_id == 0)
        ):
            actions.setdefault(self.wait_index - first, []).append(wait_action(self.wait_action_id))
        if self.drop:
            actions.setdefault(len(self.stops) - 1 - first, []).append(
                load_action(self.drop_action_id, DROP, self.load_id)
            )
        return build_order(
            lane_map,
            legs,
            self.order_id,
            self.update_id,
            self.stops[first],
            released_legs=self.released - first,
            first_sequence_id=2 * first,
            node_actions=actions,
        )
