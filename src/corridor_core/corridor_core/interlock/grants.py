"""Grants: the interlock for a controller that releases pieces of lane ahead of the trucks.

The fleet controller cannot see a truck enter a segment; it decides when it releases an order
piece, and learns of the truck's progress from its states. So a release is the entry, to the
interlock, and what is released stays held until a state shows the truck past it:

- :meth:`Grants.blocker` asks :meth:`LaneInterlock.may_enter` for every segment of the piece
  (block direction, claims, block signal with its platoon cap and phase alternation, all-clear
  after the last opposite exit, room, and the following headway on the first segment), and for
  a place at every node of the piece where the truck stands (its end, and where a station or
  the border point stops it on the way);
- :meth:`Grants.grant` enters every segment of the piece and takes those places; the place
  where the truck stands now stays held too, until it is seen past it;
- :meth:`Grants.departed` (a state shows it driving on from a node) gives back its place there;
- :meth:`Grants.passed` (a state shows ``lastNodeId``) exits the segments behind the truck and
  gives back the places behind it; the all-clear of a block counts from then;
- :meth:`Grants.stand` (a truck proven standing at a node) keeps only its place there;
- :meth:`Grants.release` (an operator accounts for a truck) gives back everything.

A truck that falls silent, is refused or leaves the plan keeps what it holds: nothing here
forgets a truck on its own. Times are seconds on the controller's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from corridor_core.interlock.lane import LaneInterlock
from corridor_core.interlock.stop_lines import is_stop_line
from corridor_core.lane_map import LaneMap
from corridor_core.runs import Direction

HeadwayOf = Callable[[str], float]
"""``headway_of(segment)``: the following headway on that segment now (s)."""


class Grants:
    """What each truck holds of the lane by release, kept in a :class:`LaneInterlock`.

    Args:
        lane: the interlock (shared state of the lane).
        lane_map: the corridor (segments between neighbouring nodes).
    """

    def __init__(self, lane: LaneInterlock, lane_map: LaneMap) -> None:
        self.lane = lane
        self._segment = {(s.from_node, s.to_node): s.segment_id for s in lane_map.segments}
        self._segment.update({(s.to_node, s.from_node): s.segment_id for s in lane_map.segments})
        self.path: dict[str, list[str]] = {}  # truck -> nodes it may occupy, from where it is
        self.direction: dict[str, Direction] = {}
        self._asking: dict[str, set[str]] = {}

    # --- queries ---------------------------------------------------------------------------
    def segment(self, a: str, b: str) -> str:
        """The segment between neighbouring nodes ``a`` and ``b``."""
        return self._segment[(a, b)]

    def held_segments(self, truck: str) -> list[str]:
        """The segments ``truck`` holds (inside or released to it), in path order."""
        return [seg for seg in self.lane.inside if truck in self.lane.inside[seg]]

    def held_nodes(self, truck: str) -> list[str]:
        """The nodes where ``truck`` holds a place."""
        return sorted(n for n, here in self.lane.places.held.items() if truck in here)

    def still_asking(self, truck: str, seg: str) -> bool:
        """Is ``truck`` still waiting for ``seg`` (see :data:`~.lane.StillAsking`)?"""
        return seg in self._asking.get(truck, ())

    def _stands_at(self, node: str, d: Direction, end: bool) -> bool:
        return end or self.lane.must_stand(node, d)

    # --- the rule --------------------------------------------------------------------------
    def blocker(
        self,
        truck: str,
        d: Direction,
        nodes: Sequence[str],
        now_s: float,
        headway_of: HeadwayOf,
    ) -> str:
        """Why ``truck`` (direction ``d``, standing at ``nodes[0]``) may not be released over
        ``nodes`` now; "" when it may. A refusal on a single-lane block leaves an ask with its
        signal, so the other direction's phase ends at the platoon cap."""
        asks: set[str] = set()
        self._asking[truck] = asks
        last = len(nodes) - 1
        queue = self._queued_ahead(truck, d, nodes[0], leaving=True)
        if queue:
            return queue
        for i in range(last):
            a, b = nodes[i], nodes[i + 1]
            if i > 0 and (queue := self._queued_ahead(truck, d, a, leaving=False)):
                return queue
            seg = self.segment(a, b)
            if seg in self.lane.single:
                # an ask left when it last could go stands only while it still can: may_enter
                # asks again below if nothing but the block holds it back
                self.lane.signals.withdraw(seg, truck)
                asks.add(seg)
            rolls_on = i + 1 < last and not self.lane.must_stand(b, d)
            stands = self._stands_at(b, d, i + 1 == last)
            must_have_place = (stands or seg in self.lane.single) and not rolls_on
            if must_have_place and not self.lane.places.has_place(truck, b, d):
                return self._no_place(truck, asks, b)
            ok, retry_s = self.lane.may_enter(
                truck,
                seg,
                d,
                now_s,
                b,
                headway_of(seg) if i == 0 else 0.0,
                way_on=(lambda: True) if rolls_on else (lambda: False),
                still_asking=self.still_asking,
            )
            if not ok:
                if retry_s is not None:
                    return f"{seg} clear at {retry_s:.0f} s"
                if seg in self.lane.single and not self.lane.block_free_for(seg, d, truck):
                    other = sorted(t for t, x in self.lane.inside[seg].items() if x is not d)
                    return f"single-lane {seg} held by {', '.join(other) or 'a claim'}"
                return f"{seg} not free for {d.value.lower()}"
            if stands and not self.lane.places.has_place(truck, b, d):
                return self._no_place(truck, asks, b)
        return ""

    def _queued_ahead(self, truck: str, d: Direction, node: str, leaving: bool) -> str:
        """Trucks wait in the running lane at a stop line, in the order they came: a truck
        leaving one goes only as the first of its direction there, and a truck never rolls
        past one where a truck of its direction waits (or is on its way to wait). "" when
        neither holds it back."""
        if not is_stop_line(node):
            return ""
        here = [t for t, x in self.lane.places.held[node].items() if x is d]
        if leaving:
            ahead = here[: here.index(truck)] if truck in here else []
        else:
            ahead = [t for t in here if t != truck]
        return f"queued behind {', '.join(ahead)} at {node}" if ahead else ""

    def _no_place(self, truck: str, asks: set[str], node: str) -> str:
        """The truck cannot go for want of a place at ``node``: the asks it left on the
        piece's blocks would end the other direction's phase for nothing (and two such trucks
        facing each other would never move), so they are withdrawn."""
        for block in asks:
            self.lane.signals.withdraw(block, truck)
        asks.clear()
        return f"no free place at {node}"

    # --- what happened ---------------------------------------------------------------------
    def grant(self, truck: str, d: Direction, nodes: Sequence[str], now_s: float) -> None:
        """``nodes`` are released to ``truck``: it holds their segments and the places where it
        will stand, as if it had entered them now."""
        self._asking.pop(truck, None)
        self.direction[truck] = d
        start = nodes[0]
        held_start = self.lane.places.holds(truck, start)
        last = len(nodes) - 1
        for i in range(last):
            self.lane.entered(truck, self.segment(nodes[i], nodes[i + 1]), d, now_s, nodes[i])
        if held_start:
            self.lane.places.take(truck, start, d)  # still standing there until seen past it
        for i in range(1, last + 1):
            if self._stands_at(nodes[i], d, i == last):
                self.lane.places.take(truck, nodes[i], d)
        path = self.path.setdefault(truck, [start])
        if path[-1] != start:
            # a new order from where the old one was cut (cancelled): the truck stands at
            # ``start``, and what was released beyond it will not be driven
            self._drop_beyond(truck, start, now_s)
            path = self.path[truck]
        path.extend(nodes[1:])

    def passed(self, truck: str, node: str, now_s: float) -> None:
        """A state shows ``truck`` at (or past) ``node``: what lies behind it is given back."""
        path = self.path.get(truck)
        if not path or node not in path:
            return
        i = path.index(node)
        d = self.direction.get(truck)
        for j in range(i):
            seg = self.segment(path[j], path[j + 1])
            if truck in self.lane.inside[seg] and d is not None:
                self.lane.exited(truck, seg, d, now_s)
            self.lane.places.leave(truck, path[j])
        self.path[truck] = path[i:]

    def departed(self, truck: str, node: str) -> None:
        """A state shows ``truck`` driving on from ``node`` (its ``lastNodeId``) with more of
        its path released ahead: it no longer stands there, so its place there is given back
        (the segment ahead stays held until it is seen at its far end)."""
        path = self.path.get(truck)
        if path and node in path and path[-1] != node:
            self.lane.places.leave(truck, node)

    def _drop_beyond(self, truck: str, node: str, now_s: float) -> None:
        """``truck`` stands at ``node``: give back what its path holds beyond it (all it holds,
        but its place at ``node``, when ``node`` is not on its path)."""
        path = self.path.get(truck, [])
        if node not in path:
            self.stand(truck, node, now_s)
            return
        i = path.index(node)
        d = self.direction.get(truck)
        for j in range(i, len(path) - 1):
            seg = self.segment(path[j], path[j + 1])
            if truck in self.lane.inside[seg] and d is not None:
                self.lane.exited(truck, seg, d, now_s)
            if path[j + 1] != node:
                self.lane.places.leave(truck, path[j + 1])
        self.path[truck] = path[: i + 1]

    def stand(self, truck: str, node: str, now_s: float, d: Direction | None = None) -> None:
        """``truck`` is known to stand at ``node`` with nothing released ahead: it holds only
        its place there."""
        self.release(truck, now_s)
        direction = d or self.direction.get(truck) or Direction.SOUTHBOUND
        self.direction[truck] = direction
        self.lane.places.take(truck, node, direction)
        self.path[truck] = [node]

    def release(self, truck: str, now_s: float) -> None:
        """Give back everything ``truck`` holds (an operator accounted for it)."""
        d = self.direction.get(truck)
        for seg in self.held_segments(truck):
            self.lane.exited(truck, seg, self.lane.inside[seg][truck] if d is None else d, now_s)
        for node in self.held_nodes(truck):
            self.lane.places.leave(truck, node)
        for seg in self.lane.single:
            self.lane.signals.withdraw(seg, truck)
        self.lane.signals.drop_claims(truck)
        self._asking.pop(truck, None)
        self.path.pop(truck, None)
