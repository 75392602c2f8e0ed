"""Standing places at nodes, and who holds them.

Bookkeeping only: no clock, no events. The driver (the simulator, later the fleet controller)
asks (is a place free here for this direction?) and tells (the truck took it, left it). The
counts are the limits of :mod:`corridor_core.interlock.limits`: a node has
:func:`~corridor_core.interlock.limits.standing_capacity` places, and one direction may hold
at most :func:`~corridor_core.interlock.limits.direction_place_limits` of them. A truck holds
its place from when it leaves the stop before (so it never drives into a node it cannot stand
at), and gives it back when it leaves the node.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from corridor_core.interlock.limits import (
    arrival_segments,
    direction_place_limits,
    standing_capacities,
)
from corridor_core.lane_map import LaneMap
from corridor_core.runs import Direction


class Places:
    """Standing places at nodes, and who holds them.

    Args:
        lane_map: the corridor.
        single: ids of the single-lane segments.
        stands: ``(node, direction)`` pairs where a truck of that direction must stand on
            arrival (a service there, or the border point).

    Call :meth:`set_platoon_caps` before asking :meth:`room_at`.
    """

    def __init__(
        self, lane_map: LaneMap, single: set[str], stands: set[tuple[str, Direction]]
    ) -> None:
        self.lane_map = lane_map
        self.single = single
        self.stands = stands
        self.capacity: dict[str, float] = standing_capacities(lane_map)
        self.held: dict[str, dict[str, Direction]] = {n.node_id: {} for n in lane_map.nodes}
        self.limit: dict[tuple[str, Direction], float] = {}
        self._arrive_via = arrival_segments(lane_map)

    def set_platoon_caps(self, caps: Mapping[str, int]) -> None:
        """Work out how many places each direction may hold at each node, for these platoon
        caps of the single-lane blocks (see
        :func:`~corridor_core.interlock.limits.direction_place_limits`)."""
        self.limit = direction_place_limits(
            self.lane_map, self.capacity, self.single, self.stands, caps, self._arrive_via
        )

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
