"""Load, validate and save lane maps (``maps/*.yaml``; format in ``docs/map-format.md``).

:func:`parse_map` checks every rule and raises :class:`ConfigError` naming the file, the path
inside it and the rule (``maps/x.yaml: segments[3].length_m must be > 0``); a broken file never
half-loads. :func:`map_to_dict` is the inverse: ``parse_map(map_to_dict(m)) == m``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from corridor_core.config_reader import Field, load_yaml
from corridor_core.distributions import parse_distribution
from corridor_core.errors import ConfigError
from corridor_core.lane_map import (
    HOLDING_KINDS,
    FollowingRule,
    LaneMap,
    LaneMode,
    MapNode,
    NodeKind,
    Segment,
    Station,
    StationKind,
    VehicleClass,
)
from corridor_core.runs import Direction

DIRECTIONS = [d.value for d in Direction]


def _unique_id(item: Field, seen: set[str], what: str) -> str:
    field = item.get("id")
    value = field.text()
    if value in seen:
        raise field.error(f"duplicates {what} id {value!r}")
    seen.add(value)
    return value


def _country(field: Field) -> str:
    value = field.text()
    if not (len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()):
        raise field.error("must be an ISO 3166 two-letter country code such as CN or VN")
    return value


def _following(field: Field) -> FollowingRule:
    return FollowingRule(
        standstill_gap_m=field.get("standstill_gap_m").number(ge=0),
        time_gap_s=field.get("time_gap_s").number(ge=0),
    )


def _vehicle_class(item: Field, seen: set[str]) -> VehicleClass:
    class_id = _unique_id(item, seen, "vehicle class")
    return VehicleClass(
        class_id=class_id,
        length_m=item.get("length_m").number(gt=0),
        max_speed_kph=item.get("max_speed_kph").number(gt=0),
        accel_loaded_mps2=item.get("accel_loaded_mps2").number(gt=0),
        accel_empty_mps2=item.get("accel_empty_mps2").number(gt=0),
        braking_mps2=item.get("braking_mps2").number(gt=0),
        emergency_braking_mps2=item.get("emergency_braking_mps2").number(gt=0),
        battery_range_km=item.get("battery_range_km").number(gt=0),
        swap_every_round_trips=item.get("swap_every_round_trips").integer(ge=1),
        swap_time_s=item.get("swap_time_s").number(ge=0),
    )


def _node(item: Field, seen: set[str]) -> MapNode:
    node_id = _unique_id(item, seen, "node")
    kind = NodeKind(item.get("kind").choice([k.value for k in NodeKind]))
    slots_field = item.get("holding_slots", 0)
    slots = slots_field.integer(ge=0)
    if kind in HOLDING_KINDS and slots < 1:
        raise slots_field.error(f"must be >= 1 for a {kind.value}")
    wgs = item.optional("wgs84")
    return MapNode(
        node_id=node_id,
        kind=kind,
        jurisdiction=_country(item.get("jurisdiction")),
        x_m=item.get("x_m").number(),
        y_m=item.get("y_m").number(),
        lat_deg=wgs.get("lat_deg").number(ge=-90, le=90) if wgs else None,
        lon_deg=wgs.get("lon_deg").number(ge=-180, le=180) if wgs else None,
        holding_slots=slots,
    )


def _segment(item: Field, seen: set[str], nodes: dict[str, MapNode]) -> Segment:
    seg_id = _unique_id(item, seen, "segment")
    ends = []
    for key in ("from", "to"):
        end = item.get(key)
        if end.text() not in nodes:
            raise end.error(f"names unknown node {end.value!r}")
        ends.append(end.value)
    if ends[0] == ends[1]:
        raise item.get("to").error("must differ from 'from'")
    length = item.get("length_m").number(gt=0)
    mode = LaneMode(item.get("lane_mode").choice([m.value for m in LaneMode]))
    if mode is LaneMode.SINGLE_ALTERNATING:
        for key, node_id in zip(("from", "to"), ends, strict=True):
            if not nodes[node_id].is_holding_place:
                raise item.get(key).error(
                    f"is {node_id!r}, which is no holding place, so single-lane block {seg_id!r} "
                    "has no holding place at this end (use a yard, parking, or a node with "
                    "holding_slots >= 1)"
                )
    capacity = item.optional("capacity_trucks")
    lanes_field = item.get("lanes_per_direction", 1)
    lanes = lanes_field.integer(ge=1)
    if lanes > 1 and mode is LaneMode.SINGLE_ALTERNATING:
        raise lanes_field.error("must be 1 on a single_alternating segment")
    boundaries: list[float] = []
    bounds = item.optional("block_boundaries_m")
    for b in bounds.items() if bounds else []:
        value = b.number(gt=0)
        if value >= length:
            raise b.error(f"must be < length_m ({length:g})")
        if boundaries and value <= boundaries[-1]:
            raise b.error("must be greater than the boundary before it")
        boundaries.append(value)
    following = item.optional("following_rule")
    return Segment(
        segment_id=seg_id,
        from_node=ends[0],
        to_node=ends[1],
        length_m=length,
        lane_mode=mode,
        speed_limit_kph=item.get("speed_limit_kph").number(gt=0),
        capacity_trucks=capacity.integer(ge=1) if capacity else None,
        lanes_per_direction=lanes,
        all_clear_s=item.get("all_clear_s", 0.0).number(ge=0),
        block_boundaries_m=tuple(boundaries),
        following=_following(following) if following else None,
    )


def _station(item: Field, seen: set[str], nodes: dict[str, MapNode]) -> Station:
    station_id = _unique_id(item, seen, "station")
    node = item.get("node")
    if node.text() not in nodes:
        raise node.error(f"names unknown node {node.value!r}")
    directions = [d.choice(DIRECTIONS) for d in item.get("directions").items()]
    if not directions:
        raise item.get("directions").error("must name at least one direction")
    exception = item.optional("exception")
    return Station(
        station_id=station_id,
        node=node.value,
        kind=StationKind(item.get("kind").choice([k.value for k in StationKind])),
        servers=item.get("servers").integer(ge=1),
        directions=tuple(Direction(d) for d in directions),
        service_time_s=parse_distribution(item.get("service_time_s")),
        share=item.get("share", 1.0).number(gt=0, le=1),
        setup_s=item.get("setup_s", 0.0).number(ge=0),
        exception_probability=exception.get("probability").number(ge=0, le=1) if exception else 0.0,
        exception_time_s=parse_distribution(exception.get("service_time_s")) if exception else None,
    )


def _check_yards_connected(lane_map: LaneMap, source: str) -> None:
    yards = lane_map.yards()
    sides = {lane_map.node(y).jurisdiction for y in yards}
    if lane_map.southbound_from not in sides:
        raise ConfigError(
            source, "nodes", f"must include a yard in {lane_map.southbound_from} (southbound_from)"
        )
    if len(sides) < 2:
        raise ConfigError(source, "nodes", "must include yards on both sides of the border")
    graph = lane_map.graph()
    for a in yards:
        for b in yards:
            if a != b and not nx.has_path(graph, a, b):
                raise ConfigError(
                    source, "segments", f"must connect yards both ways: no route from {a} to {b}"
                )


def parse_map(data: Any, source: str) -> LaneMap:
    """Build a LaneMap from a parsed YAML document, validating every rule.

    Raises:
        ConfigError: naming ``source``, the path inside the document and the rule.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, "", "must be a mapping with name, nodes and segments")
    root = Field(source, "", data)
    name = root.get("name").text()
    version = root.get("version", 1).integer(ge=1)
    description = root.get("description", "").value
    if not isinstance(description, str):
        raise root.get("description").error("must be a string")
    southbound_from = _country(root.get("southbound_from", "CN"))
    following = _following(root.get("following_rule"))
    seen_classes: set[str] = set()
    classes = [_vehicle_class(i, seen_classes) for i in root.get("vehicle_classes").items()]
    if not classes:
        raise root.get("vehicle_classes").error("must list at least one vehicle class")
    seen_nodes: set[str] = set()
    nodes = {n.node_id: n for n in (_node(i, seen_nodes) for i in root.get("nodes").items())}
    seen_segments: set[str] = set()
    segments = [_segment(i, seen_segments, nodes) for i in root.get("segments").items()]
    seen_stations: set[str] = set()
    stations = [_station(i, seen_stations, nodes) for i in root.get("stations", []).items()]
    lane_map = LaneMap(
        name=name,
        version=version,
        description=description,
        southbound_from=southbound_from,
        following=following,
        vehicle_classes=tuple(classes),
        nodes=tuple(nodes.values()),
        segments=tuple(segments),
        stations=tuple(stations),
    )
    _check_yards_connected(lane_map, source)
    return lane_map


def load_map(path: str | Path) -> LaneMap:
    """Load and validate a map file."""
    return parse_map(load_yaml(path), str(path))


def map_to_dict(lane_map: LaneMap) -> dict[str, Any]:
    """The file form of a map (inverse of :func:`parse_map`)."""

    def following(rule: FollowingRule) -> dict[str, float]:
        return {"standstill_gap_m": rule.standstill_gap_m, "time_gap_s": rule.time_gap_s}

    def node(n: MapNode) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": n.node_id,
            "kind": n.kind.value,
            "jurisdiction": n.jurisdiction,
            "x_m": n.x_m,
            "y_m": n.y_m,
        }
        if n.lat_deg is not None and n.lon_deg is not None:
            out["wgs84"] = {"lat_deg": n.lat_deg, "lon_deg": n.lon_deg}
        if n.holding_slots:
            out["holding_slots"] = n.holding_slots
        return out

    def segment(s: Segment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": s.segment_id,
            "from": s.from_node,
            "to": s.to_node,
            "length_m": s.length_m,
            "lane_mode": s.lane_mode.value,
            "speed_limit_kph": s.speed_limit_kph,
            "all_clear_s": s.all_clear_s,
            "lanes_per_direction": s.lanes_per_direction,
        }
        if s.capacity_trucks is not None:
            out["capacity_trucks"] = s.capacity_trucks
        if s.block_boundaries_m:
            out["block_boundaries_m"] = list(s.block_boundaries_m)
        if s.following is not None:
            out["following_rule"] = following(s.following)
        return out

    def station(s: Station) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": s.station_id,
            "node": s.node,
            "kind": s.kind.value,
            "servers": s.servers,
            "directions": [d.value for d in s.directions],
            "service_time_s": s.service_time_s.to_dict(),
            "share": s.share,
            "setup_s": s.setup_s,
        }
        if s.exception_time_s is not None:
            out["exception"] = {
                "probability": s.exception_probability,
                "service_time_s": s.exception_time_s.to_dict(),
            }
        return out

    return {
        "name": lane_map.name,
        "version": lane_map.version,
        "description": lane_map.description,
        "southbound_from": lane_map.southbound_from,
        "following_rule": following(lane_map.following),
        "vehicle_classes": [
            {
                "id": v.class_id,
                "length_m": v.length_m,
                "max_speed_kph": v.max_speed_kph,
                "accel_loaded_mps2": v.accel_loaded_mps2,
                "accel_empty_mps2": v.accel_empty_mps2,
                "braking_mps2": v.braking_mps2,
                "emergency_braking_mps2": v.emergency_braking_mps2,
                "battery_range_km": v.battery_range_km,
                "swap_every_round_trips": v.swap_every_round_trips,
                "swap_time_s": v.swap_time_s,
            }
            for v in lane_map.vehicle_classes
        ],
        "nodes": [node(n) for n in lane_map.nodes],
        "segments": [segment(s) for s in lane_map.segments],
        "stations": [station(s) for s in lane_map.stations],
    }


def dump_map(lane_map: LaneMap) -> str:
    """The map as YAML text."""
    return yaml.safe_dump(map_to_dict(lane_map), allow_unicode=True, sort_keys=False)


def save_map(lane_map: LaneMap, path: str | Path) -> None:
    """Write the map to a YAML file."""
    Path(path).write_text(dump_map(lane_map), encoding="utf-8")
