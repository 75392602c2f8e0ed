"""The lane's shared resources in the simulator: standing places at nodes and the signals of
single-lane blocks.

Both are bookkeeping only: no clock, no events. The engine asks (may this truck take a place,
enter this block?) and tells (it took the place, it entered). The rules they keep are in the
engine's module docstring; the deadlock arguments rest on them:

- a node's places: its holding slots plus one per service lane of its stations (as the
  independent checker counts them); a truck holds one from when it leaves the stop before;
  one direction may hold all places but those the other direction needs there;
- a block's signal: a direction keeps the block while the other has nobody waiting, and for at
  most the platoon cap of trucks in a row when it has; a claim (a truck that will roll into the
  block from the block before it) keeps the block for its direction like a truck inside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from corridor_core.lane_map import LaneMap
from corridor_core.planning.router import standing_slots
from corridor_core.runs import Direction


def opposite(d: Direction) -> Direction:
    """The other direction."""
    return Direction.NORTHBOUND if d is Direction.SOUTHBOUND else Direction.SOUTHBOUND


class Places:
    """Standing places at nodes, and who holds them.

    Args:
        lane_map: the corridor.
        single: ids of the single-lane segments.
        stands: ``(node, direction)`` pairs where a truck of that direction must stand on
            arrival (a service there, or the border point).
    """

    def __init__(
        self, lane_map: LaneMap, single: set[str], stands: set[tuple[str, Direction]]
    ) -> None:
        self.lane_map = lane_map
        self.single = single
        self.stands = stands
        self.capacity: dict[str, float] = {}
        for n in lane_map.nodes:
            slots = standing_slots(lane_map, n.node_id)  # inf for yards and parkings
            if not math.isinf(slots):
                slots = float(
                    n.holding_slots + sum(st.servers for st in lane_map.stations_at(n.node_id))
                )
            self.capacity[n.node_id] = slots
        self.held: dict[str, dict[str, Direction]] = {n.node_id: {} for n in lane_map.nodes}
        self.limit: dict[tuple[str, Direction], float] = {}
        home = lane_map.yard_of(lane_map.southbound_from)
        away = lane_map.yard_of(lane_map.far_side())
        self._arrive_via: dict[tuple[str, Direction], str] = {}
        for d, (a, b) in (
            (Direction.SOUTHBOUND, (home, away)),
            (Direction.NORTHBOUND, (away, home)),
        ):
            for leg in lane_map.route(a, b):
                self._arrive_via[(leg.end_node, d)] = leg.segment.segment_id

    def set_platoon_caps(self, caps: Mapping[str, int]) -> None:
        """Work out how many places each direction may hold at each node.

        A direction may hold all but those the other direction needs. That is one place, so
        neither direction can shut the other out. Or it is a whole platoon (the block's cap,
        at most half the places), where the other direction comes out of a single-lane block
        and must stand at the node, so that block's platoons fit.
        """
        for node, cap in self.capacity.items():
            for d in Direction:
                other = opposite(d)
                seg = self._arrive_via.get((node, other))
                need = 1
                if seg in self.single and (node, other) in self.stands:
                    need = min(caps[seg], math.ceil(cap / 2) if not math.isinf(cap) else 1)
                self.limit[(node, d)] = max(1.0, cap - need)

    def unbounded(self, node: str) -> bool:
        """A yard or parking: room for every truck."""
        return math.isinf(self.capacity[node])

    def holds(self, truck: str, node: str) -> bool:
        """The truck holds a place at ``node``."""
        return truck in self.held[node]

    def room_at(self, node: str, d: Direction) -> bool:
        """Is a place free at ``node`` for one more truck of direction ``d``?"""
        cap = self.capacity[node]
        if math.isinf(cap):
            return True
        here = self.held[node]
        # (directions compare by identity: count() counts the holders of direction d)
        return len(here) < cap and list(here.values()).count(d) < self.limit[(node, d)]

    def has_place(self, truck: str, node: str, d: Direction) -> bool:
        """The truck holds a place at ``node`` or one is free."""
        return truck in self.held[node] or self.room_at(node, d)

    def take(self, truck: str, node: str, d: Direction) -> None:
        """The truck holds a place at ``node`` from now on (nothing at an unbounded node)."""
        if not self.unbounded(node):
            self.held[node][truck] = d

    def leave(self, truck: str, node: str) -> None:
        """The truck gives its place at ``node`` back (if it held one)."""
        self.held[node].pop(truck, None)

    def hand_over(self, node: str, d: Direction, to: str, candidates: Iterable[str]) -> bool:
        """Give ``to`` the place of the first of ``candidates`` holding one at ``node``."""
        here = self.held[node]
        for other in candidates:
            if other != to and other in here:
                del here[other]
                here[to] = d
                return True
        return False


class BlockSignals:
    """The signals of the single-lane blocks: claims, requests and phases.

    Args:
        single: ids of the single-lane segments.
    """

    def __init__(self, single: Iterable[str]) -> None:
        blocks = sorted(single)
        # trucks that will roll into the block from the block before it
        self.claims: dict[str, dict[str, Direction]] = {s: {} for s in blocks}
        # trucks asking to enter, kept until they enter or go stale
        self.requests: dict[str, dict[str, Direction]] = {s: {} for s in blocks}
        # (direction, entries since the direction last changed)
        self.phase: dict[str, tuple[Direction | None, int]] = {s: (None, 0) for s in blocks}
        self.cap: dict[str, int] = {s: 1 for s in blocks}

    def set_caps(self, caps: Mapping[str, int]) -> None:
        """The platoon cap of each block (a phase past a new cap ends at the next ask)."""
        self.cap.update(caps)

    def free_for(self, seg: str, d: Direction, truck: str, inside: Mapping[str, Direction]) -> bool:
        """No opposite-direction truck inside the block (``inside``: truck -> direction) or
        holding a claim on it."""
        if list(inside.values()).count(d) != len(inside):  # (directions: by identity)
            return False
        claims = self.claims[seg]
        return not claims or all(x is d or t == truck for t, x in claims.items())

    def allows(
        self,
        seg: str,
        d: Direction,
        truck: str,
        inside: Mapping[str, Direction],
        still_asking: Callable[[str, str], bool],
    ) -> bool:
        """Does the signal let ``truck`` (direction ``d``) in now? A claim holder always; with
        a cap of one (``fifo``) only into an empty, unclaimed block; otherwise while its
        direction's phase is under the cap or nobody of the other direction still asks
        (``still_asking(truck, seg)`` drops stale asks)."""
        if truck in self.claims[seg]:
            return True
        cap = self.cap[seg]
        if cap == 1 and (inside or any(t != truck for t in self.claims[seg])):
            return False
        direction, entries = self.phase[seg]
        if direction is not d or entries < cap:
            return True
        return not self.others_waiting(seg, d, still_asking)

    def others_waiting(
        self, seg: str, d: Direction, still_asking: Callable[[str, str], bool]
    ) -> bool:
        """Is a truck of the other direction asking to enter ``seg``? Stale asks are dropped."""
        asks = self.requests[seg]
        for truck, x in list(asks.items()):
            if x is d:
                continue
            if not still_asking(truck, seg):
                del asks[truck]
                continue
            return True
        return False

    def ask(self, seg: str, truck: str, d: Direction) -> None:
        """The truck asks to enter ``seg``."""
        self.requests[seg][truck] = d

    def withdraw(self, seg: str, truck: str) -> None:
        """The truck no longer asks (it entered, or something else holds it back)."""
        self.requests[seg].pop(truck, None)

    def count_entry(self, seg: str, d: Direction) -> None:
        """One more truck of direction ``d`` let into ``seg``: the phase goes on or turns."""
        direction, entries = self.phase[seg]
        self.phase[seg] = (d, entries + 1 if direction is d else 1)

    def claim(self, seg: str, truck: str, d: Direction) -> None:
        """The truck will roll into ``seg`` from the block before it; it counts in the phase
        now, when it is let in."""
        self.claims[seg][truck] = d
        self.count_entry(seg, d)

    def has_claim(self, seg: str, truck: str) -> bool:
        """The truck holds a claim on ``seg``."""
        return truck in self.claims.get(seg, {})

    def drop_claims(self, truck: str) -> None:
        """The truck's claims end (it entered the block, or left the lane)."""
        for claims in self.claims.values():
            claims.pop(truck, None)
