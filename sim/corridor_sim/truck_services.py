"""Station work of the emulated trucks: the map's stations, timed by the shared service model.

:class:`StationDesks` holds the servers of every station of the map, shared by all emulated
trucks of one process (the fleet loop drives them from one thread, so no lock). A truck books a
server when it is ready (first come, first served): the booking starts when the earliest free
server frees up, and holds it for the visit's time. Trucks book in the order the fleet loop
reaches them, so two trucks ready within one loop tick (about one simulated second at x50) may
be served in either order; a server never holds two trucks at once.

:class:`TruckServices` is one truck's view: which stations it visits at a node and how long each
visit takes, from :mod:`corridor_core.service_model` (the simulator's engine uses the same
functions), drawn from the truck's own seeded streams.

:class:`LaneEntries` keeps the map's following rule between trucks entering a segment in the
same direction (the headway of :meth:`~corridor_core.lane_map.FollowingRule.headway_s` at the
edge's speed), as real trucks keep their distance on their own; without it emulated trucks
released together would drive through one another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from corridor_core.interlock.stop_lines import with_stop_lines
from corridor_core.lane_map import LaneMap, NodeKind, StationKind
from corridor_core.runs import Direction
from corridor_core.service_model import (
    crane,
    lane_stations,
    selected,
    service_time_s,
    stations_of_kind,
    swap_due,
    swap_station,
    swap_time_s,
)


@dataclass(frozen=True)
class Visit:
    """One visit to a station: its id, the time it holds a server (seconds) and direction."""

    station_id: str
    service_s: float
    direction: Direction


class StationDesks:
    """The servers of every station of ``lane_map``, booked first come, first served."""

    def __init__(self, lane_map: LaneMap) -> None:
        self._free_at_s = {st.station_id: [-math.inf] * st.servers for st in lane_map.stations}

    def book(self, station_id: str, ready_s: float, service_s: float) -> tuple[float, float]:
        """Book the earliest free server of ``station_id`` for a truck ready at ``ready_s``.

        Returns:
            (start_s, end_s) of the service, simulated seconds.
        """
        servers = self._free_at_s[station_id]
        k = min(range(len(servers)), key=lambda i: servers[i])
        start_s = max(ready_s, servers[k])
        servers[k] = start_s + service_s
        return start_s, servers[k]


class LaneEntries:
    """When each truck may enter a segment: one following headway after the truck before it
    in the same direction (first come, first served), shared by the fleet."""

    def __init__(self, lane_map: LaneMap) -> None:
        self.lane_map = lane_map
        # orders name the map's nodes, and may name stop lines (parts of a segment)
        parts = with_stop_lines(lane_map).segments
        self._between = {
            frozenset((s.from_node, s.to_node)): s for s in (*lane_map.segments, *parts)
        }
        self._last_entry_s: dict[tuple[str, str], float] = {}
        self._length_m = lane_map.vehicle_class().length_m

    def book(self, start_node: str, end_node: str, ready_s: float, speed_mps: float) -> float:
        """The entry time of a truck ready at ``ready_s`` to drive ``start_node`` to
        ``end_node`` at ``speed_mps`` (``ready_s`` itself off the map's segments)."""
        seg = self._between.get(frozenset((start_node, end_node)))
        if seg is None or speed_mps <= 0:
            return ready_s
        key = (seg.segment_id, start_node)
        headway_s = self.lane_map.following_for(seg).headway_s(speed_mps, self._length_m)
        entry_s = max(ready_s, self._last_entry_s.get(key, -math.inf) + headway_s)
        self._last_entry_s[key] = entry_s
        return entry_s


class TruckServices:
    """What one truck does at stations.

    Args:
        lane_map: the map.
        desks: the station servers shared by the fleet.
        lanes: the segment entries shared by the fleet (None: no headway between trucks).
        seed: this truck's seed; two streams are derived from it (service times, and the share
            and exception decisions), as the engine keeps them apart.
        exceptions: gate visits can be exceptions (the map's remote manual checks), as the
            simulator's default ``ocr_misread`` disruption has it.
    """

    def __init__(
        self, lane_map: LaneMap, desks: StationDesks, seed: np.random.SeedSequence | int,
        exceptions: bool = True, lanes: LaneEntries | None = None,
    ) -> None:  # fmt: skip
        self.lane_map = lane_map
        self._routes = with_stop_lines(lane_map)  # orders may name stop lines
        self.desks = desks
        self.lanes = lanes
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        service, share = root.spawn(2)
        self.rng_service = np.random.default_rng(service)
        self.rng_share = np.random.default_rng(share)
        self.exceptions = exceptions
        self.vehicle = lane_map.vehicle_class()
        self._stations = {st.station_id: st for st in lane_map.stations}

    def is_yard(self, node_id: str) -> bool:
        """Is ``node_id`` a yard (on the map)?"""
        return self.lane_map.has_node(node_id) and self.lane_map.node(node_id).kind is NodeKind.YARD

    def direction(self, from_node: str, to_node: str) -> Direction | None:
        """The border direction of driving from ``from_node`` to ``to_node`` (None: unknown)."""
        lm = self._routes
        if not (lm.has_node(from_node) and lm.has_node(to_node)) or from_node == to_node:
            return None
        return lm.direction_between(lm.node(from_node), lm.node(to_node))

    def _visit(self, station_id: str, direction: Direction) -> Visit:
        st = self._stations[station_id]
        misread = self.exceptions and st.kind is StationKind.GATE
        draw = service_time_s(st, self.rng_service, self.rng_share if misread else None)
        return Visit(station_id, draw.seconds, direction)

    def lane_visits(self, node_id: str, direction: Direction, loaded: bool) -> list[Visit]:
        """Visits on arriving at a lane node (gates, scanners when loaded, token, weighbridge)."""
        stations = self.lane_map.stations_at(node_id)
        return [
            self._visit(st.station_id, direction)
            for st in lane_stations(stations, direction, loaded)
            if selected(st, self.rng_share)
        ]

    def load_visits(self, node_id: str, direction: Direction) -> list[Visit]:
        """Visits to load a container at a yard: its crane."""
        cranes = crane(self.lane_map.stations_at(node_id))
        return [self._visit(cranes.station_id, direction)] if cranes else []

    def unload_visits(self, node_id: str, direction: Direction) -> list[Visit]:
        """Visits to unload at a yard: its scanners of ``direction`` (by share), then its crane.
        Inspections hold the set-down container, not the truck, so they take no truck time."""
        stations = self.lane_map.stations_at(node_id)
        scans = [
            self._visit(st.station_id, direction)
            for st in stations_of_kind(stations, direction, StationKind.SCANNER)
            if selected(st, self.rng_share)
        ]
        return scans + self.load_visits(node_id, direction)

    def swap_visit(self, node_id: str, direction: Direction, one_way_trips: int) -> list[Visit]:
        """A battery swap at ``node_id`` when one is due and the node has a swap station."""
        swap = swap_station(self.lane_map.stations_at(node_id))
        if swap is None or not swap_due(one_way_trips, self.vehicle):
            return []
        return [Visit(swap.station_id, swap_time_s(self.vehicle), direction)]

    def book(self, visit: Visit, ready_s: float) -> tuple[float, float]:
        """Book ``visit`` at the shared desks; (start_s, end_s)."""
        return self.desks.book(visit.station_id, ready_s, visit.service_s)
