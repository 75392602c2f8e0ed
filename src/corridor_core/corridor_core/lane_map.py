"""The lane map: nodes, segments and routes of one corridor.

Maps are YAML files under ``maps/`` (format in ``docs/map-format.md``). :func:`load_map` reads
one into a frozen :class:`LaneMap`; a broken file raises :class:`ConfigError` and never
half-loads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import networkx as nx

from corridor_core.config_reader import Field, load_yaml
from corridor_core.errors import ConfigError, CorridorError


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


class LaneMode(Enum):
    """How a segment's lanes are worked."""

    ONE_WAY = "one_way"
    TWO_WAY_DUAL = "two_way_dual"  # one lane each way
    SINGLE_ALTERNATING = "single_alternating"  # one lane, directions take turns


@dataclass(frozen=True)
class MapNode:
    """A place on the lane; coordinates in the map's local frame (metres) and WGS84."""

    node_id: str
    kind: NodeKind
    jurisdiction: str  # "CN" or "VN"
    x_m: float
    y_m: float
    lat_deg: float | None = None
    lon_deg: float | None = None


@dataclass(frozen=True)
class Segment:
    """A stretch of road between two nodes, drivable both ways unless ``ONE_WAY``."""

    segment_id: str
    from_node: str
    to_node: str
    length_m: float
    lane_mode: LaneMode
    speed_limit_kph: float
    capacity_trucks: int

    @property
    def speed_limit_mps(self) -> float:
        """The speed limit in metres per second."""
        return self.speed_limit_kph / 3.6


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
    """A whole corridor map. Node and segment ids are unique."""

    name: str
    nodes: tuple[MapNode, ...]
    segments: tuple[Segment, ...]

    def node(self, node_id: str) -> MapNode:
        """The node with this id. Raises KeyError when unknown."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def has_node(self, node_id: str) -> bool:
        """True when the map has a node with this id."""
        return any(n.node_id == node_id for n in self.nodes)

    def yards(self) -> list[str]:
        """Ids of the yard nodes, sorted."""
        return sorted(n.node_id for n in self.nodes if n.kind is NodeKind.YARD)

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


def parse_map(data: Any, source: str) -> LaneMap:
    """Build a LaneMap from a parsed YAML document, validating every rule.

    Raises:
        ConfigError: naming ``source``, the path inside the document and the rule.
    """
    root = Field(source, "", data)
    if not isinstance(data, dict):
        raise ConfigError(source, "", "must be a mapping with name, nodes and segments")
    name = root.get("name").text()
    nodes: list[MapNode] = []
    seen_nodes: set[str] = set()
    for item in root.get("nodes").items():
        node_id = item.get("id").text()
        if node_id in seen_nodes:
            raise item.get("id").error(f"duplicates node id {node_id!r}")
        seen_nodes.add(node_id)
        wgs = item.get("wgs84", None)
        lat = lon = None
        if wgs.value is not None:
            lat = wgs.get("lat_deg").number(ge=-90)
            lon = wgs.get("lon_deg").number(ge=-180)
        nodes.append(
            MapNode(
                node_id=node_id,
                kind=NodeKind(item.get("kind").choice([k.value for k in NodeKind])),
                jurisdiction=item.get("jurisdiction").choice(["CN", "VN"]),
                x_m=item.get("x_m").number(),
                y_m=item.get("y_m").number(),
                lat_deg=lat,
                lon_deg=lon,
            )
        )
    segments: list[Segment] = []
    seen_segments: set[str] = set()
    for item in root.get("segments").items():
        seg_id = item.get("id").text()
        if seg_id in seen_segments:
            raise item.get("id").error(f"duplicates segment id {seg_id!r}")
        seen_segments.add(seg_id)
        ends = []
        for key in ("from", "to"):
            end = item.get(key)
            if end.text() not in seen_nodes:
                raise end.error(f"names unknown node {end.value!r}")
            ends.append(end.value)
        if ends[0] == ends[1]:
            raise item.get("to").error("must differ from 'from'")
        segments.append(
            Segment(
                segment_id=seg_id,
                from_node=ends[0],
                to_node=ends[1],
                length_m=item.get("length_m").number(gt=0),
                lane_mode=LaneMode(item.get("lane_mode").choice([m.value for m in LaneMode])),
                speed_limit_kph=item.get("speed_limit_kph").number(gt=0),
                capacity_trucks=item.get("capacity_trucks", 1_000_000).integer(ge=1),
            )
        )
    return LaneMap(name=name, nodes=tuple(nodes), segments=tuple(segments))


def load_map(path: str | Path) -> LaneMap:
    """Load and validate a map file."""
    return parse_map(load_yaml(path), str(path))
