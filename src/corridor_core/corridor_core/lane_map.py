"""The lane map model: nodes, segments, stations and vehicle classes of one corridor.

Frozen objects, built by :mod:`corridor_core.map_io` from ``maps/*.yaml`` (format in
``docs/map-format.md``). This module answers questions about a valid map (routes, holding
places, following headways); validation lives in the loader.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import networkx as nx

from corridor_core.distributions import Distribution
from corridor_core.errors import CorridorError
from corridor_core.runs import Direction


class NodeKind(Enum):
    """What a map node is."""

    YARD = "yard"
    GATE = "gate"
    SCANNER = "scanner"
    INSPECTION_BAY = "inspection_bay"
    HOLDING_POCKET = "holding_pocket"
    PASSING_BAY = "passing_bay"
    BORDER_POINT = "border_point"
    BATTERY_SWAP = "battery_swap"
    PARKING = "parking"


# Kinds where trucks may wait off the running lane; they must declare holding slots > 0
# (yards and parking hold any number).
HOLDING_KINDS = (NodeKind.HOLDING_POCKET, NodeKind.PASSING_BAY)
UNBOUNDED_HOLDING_KINDS = (NodeKind.YARD, NodeKind.PARKING)


class LaneMode(Enum):
    """How a segment's lanes are worked."""

    ONE_WAY = "one_way"
    TWO_WAY_DUAL = "two_way_dual"  # one lane each way
    SINGLE_ALTERNATING = "single_alternating"  # one lane, directions take turns


class StationKind(Enum):
    """What a station does to a truck or its container."""

    GATE = "gate"
    SCANNER = "scanner"
    YARD_HANDLING = "yard_handling"
    INSPECTION = "inspection"
    TOKEN = "token"
    BATTERY_SWAP = "battery_swap"
    WEIGHBRIDGE = "weighbridge"


@dataclass(frozen=True)
class FollowingRule:
    """Minimum gap behind the truck ahead: ``standstill_gap_m + time_gap_s * speed``."""

    standstill_gap_m: float
    time_gap_s: float

    def headway_s(self, speed_mps: float, vehicle_length_m: float) -> float:
        """Seconds between two trucks' fronts passing a point at ``speed_mps``."""
        return (vehicle_length_m + self.standstill_gap_m) / speed_mps + self.time_gap_s


@dataclass(frozen=True)
class VehicleClass:
    """Kinematics and energy of one kind of truck."""

    class_id: str
    length_m: float
    max_speed_kph: float
    accel_loaded_mps2: float
    accel_empty_mps2: float
    braking_mps2: float
    emergency_braking_mps2: float
    battery_range_km: float
    swap_every_round_trips: int
    swap_time_s: float


@dataclass(frozen=True)
class MapNode:
    """A place on the lane; local coordinates in metres, WGS84 for display."""

    node_id: str
    kind: NodeKind
    jurisdiction: str  # ISO 3166 alpha-2 country code, e.g. "CN", "VN", "MN"
    x_m: float
    y_m: float
    lat_deg: float | None = None
    lon_deg: float | None = None
    holding_slots: int = 0  # trucks that can wait here off the running lane

    @property
    def is_holding_place(self) -> bool:
        """True when trucks can wait here for a single-lane block to turn their way."""
        return self.kind in UNBOUNDED_HOLDING_KINDS or self.holding_slots > 0


@dataclass(frozen=True)
class Segment:
    """A stretch of road between two nodes, drivable both ways unless ``ONE_WAY``."""

    segment_id: str
    from_node: str
    to_node: str
    length_m: float
    lane_mode: LaneMode
    speed_limit_kph: float
    capacity_trucks: int | None = None  # trucks at once; None: bounded by following only
    lanes_per_direction: int = 1  # two_way_dual / one_way: parallel lanes each way
    all_clear_s: float = 0.0  # single-lane: clearance time between directions
    block_boundaries_m: tuple[float, ...] = ()  # chainages splitting the segment into blocks
    following: FollowingRule | None = None  # overrides the map's rule on this segment

    @property
    def speed_limit_mps(self) -> float:
        """The speed limit in metres per second."""
        return self.speed_limit_kph / 3.6

    @property
    def traversal_s(self) -> float:
        """Seconds to drive the segment at its speed limit."""
        return self.length_m / self.speed_limit_mps

    def direction_of(self, start_node: str, lane_map: LaneMap) -> Direction:
        """The border direction of driving this segment from ``start_node``."""
        a, b = lane_map.node(start_node), lane_map.node(self.other_end(start_node))
        return lane_map.direction_between(a, b)

    def other_end(self, node_id: str) -> str:
        """The end that is not ``node_id``."""
        return self.to_node if node_id == self.from_node else self.from_node


@dataclass(frozen=True)
class Station:
    """Servers at a node that every (or a ``share`` of) passing truck or container visits."""

    station_id: str
    node: str
    kind: StationKind
    servers: int
    directions: tuple[Direction, ...]
    service_time_s: Distribution
    share: float = 1.0  # fraction of containers in its directions that visit
    setup_s: float = 0.0  # extra fixed time per visit (e.g. positioning under a crane)
    exception_probability: float = 0.0
    exception_time_s: Distribution | None = None

    def mean_occupancy_s(self, with_exceptions: bool = True) -> float:
        """Mean seconds a server is busy per visit."""
        extra = 0.0
        if with_exceptions and self.exception_time_s is not None:
            extra = self.exception_probability * self.exception_time_s.mean_s
        return self.service_time_s.mean_s + self.setup_s + extra


@dataclass(frozen=True)
class RouteLeg:
    """One segment of a route, in the direction driven."""

    segment: Segment
    start_node: str
    end_node: str


class NoRoute(CorridorError):
    """No path joins the two nodes on the map."""


@dataclass(frozen=True)
class LaneMap:
    """A whole corridor map. Ids are unique; every reference resolves (the loader checks)."""

    name: str
    version: int
    description: str
    southbound_from: str  # jurisdiction whose yard SOUTHBOUND runs leave
    following: FollowingRule
    vehicle_classes: tuple[VehicleClass, ...]
    nodes: tuple[MapNode, ...]
    segments: tuple[Segment, ...]
    stations: tuple[Station, ...] = ()
    # lookups built once from the fields above (the map is frozen); not part of its value
    _index: _MapIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nodes: dict[str, MapNode] = {}
        for n in self.nodes:
            nodes.setdefault(n.node_id, n)  # the first of a (rejected) duplicate id, as a scan
        segments: dict[str, Segment] = {}
        for seg in self.segments:
            segments.setdefault(seg.segment_id, seg)
        at: dict[str, list[Station]] = {}
        for st in sorted(self.stations, key=lambda s: s.station_id):
            at.setdefault(st.node, []).append(st)
        yards = tuple(sorted(n.node_id for n in self.nodes if n.kind is NodeKind.YARD))
        index = _MapIndex(nodes, segments, {k: tuple(v) for k, v in at.items()}, yards)
        object.__setattr__(self, "_index", index)

    def node(self, node_id: str) -> MapNode:
        """The node with this id. Raises KeyError when unknown."""
        return self._index.nodes[node_id]

    def has_node(self, node_id: str) -> bool:
        """True when the map has a node with this id."""
        return any(n.node_id == node_id for n in self.nodes)

    def segment(self, segment_id: str) -> Segment:
        """The segment with this id. Raises KeyError when unknown."""
        return self._index.segments[segment_id]

    def yards(self) -> list[str]:
        """Ids of the yard nodes, sorted."""
        return list(self._index.yards)

    def yard_of(self, jurisdiction: str) -> str:
        """The first yard (by id) in ``jurisdiction``. Raises KeyError when there is none."""
        for node_id in self.yards():
            if self.node(node_id).jurisdiction == jurisdiction:
                return node_id
        raise KeyError(jurisdiction)

    def direction_between(self, a: MapNode, b: MapNode) -> Direction:
        """SOUTHBOUND when going from ``a`` to ``b`` moves away from the southbound-origin yard."""
        cn = self.node(self.yard_of(self.southbound_from))
        da = (a.x_m - cn.x_m) ** 2 + (a.y_m - cn.y_m) ** 2
        db = (b.x_m - cn.x_m) ** 2 + (b.y_m - cn.y_m) ** 2
        return Direction.SOUTHBOUND if db >= da else Direction.NORTHBOUND

    def far_side(self) -> str:
        """The jurisdiction SOUTHBOUND runs go to (the other side of the border)."""
        return next(
            self.node(y).jurisdiction
            for y in self.yards()
            if self.node(y).jurisdiction != self.southbound_from
        )

    def vehicle_class(self, class_id: str | None = None) -> VehicleClass:
        """The named vehicle class, or the first when ``class_id`` is None."""
        if class_id is None:
            return self.vehicle_classes[0]
        for vc in self.vehicle_classes:
            if vc.class_id == class_id:
                return vc
        raise KeyError(class_id)

    def following_for(self, segment: Segment) -> FollowingRule:
        """The following rule in force on ``segment``."""
        return segment.following or self.following

    def graph(self) -> Any:
        """A directed networkx graph; each drivable direction of a segment is one edge."""
        graph = nx.DiGraph()
        for node in self.nodes:
            graph.add_node(node.node_id)
        for seg in self.segments:
            graph.add_edge(seg.from_node, seg.to_node, segment=seg, weight=seg.length_m)
            if seg.lane_mode is not LaneMode.ONE_WAY:
                graph.add_edge(seg.to_node, seg.from_node, segment=seg, weight=seg.length_m)
        return graph

    def route(self, start: str, goal: str) -> list[RouteLeg]:
        """The shortest drivable route from ``start`` to ``goal`` (empty when they are equal).

        Raises:
            NoRoute: when no path exists or a node is unknown.
        """
        graph = self.graph()
        try:
            path = nx.shortest_path(graph, start, goal, weight="weight")
        except (nx.NetworkXNoPath, nx.NodeNotFound) as exc:
            raise NoRoute(f"no route from {start!r} to {goal!r} on map {self.name!r}") from exc
        return [RouteLeg(graph.edges[a, b]["segment"], a, b) for a, b in itertools.pairwise(path)]

    def stations_at(self, node_id: str) -> list[Station]:
        """Stations located at ``node_id``, by id."""
        return list(self._index.stations_at.get(node_id, ()))


@dataclass(frozen=True)
class _MapIndex:
    """A map's lookups by id (see :class:`LaneMap`)."""

    nodes: dict[str, MapNode]
    segments: dict[str, Segment]
    stations_at: dict[str, tuple[Station, ...]]  # by station id
    yards: tuple[str, ...]  # sorted
