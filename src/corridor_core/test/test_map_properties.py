"""Property tests: generated valid maps round-trip; generated broken ones name the path."""

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor_core.errors import ConfigError
from corridor_core.map_io import load_map, parse_map, save_map

KINDS = ["gate", "scanner", "holding_pocket", "passing_bay", "border_point", "parking"]
DISTS = [
    st.builds(lambda m, sd: {"dist": "lognormal", "mean": m, "sd": sd},
              st.floats(1, 600), st.floats(0, 100)),
    st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w},
              st.floats(0, 100), st.floats(0, 100)),
    st.builds(lambda m: {"dist": "exponential", "mean": m}, st.floats(0.5, 60)),
    st.builds(lambda v: {"dist": "constant", "value": v}, st.floats(0, 300)),
]  # fmt: skip


@st.composite
def valid_maps(draw: st.DrawFn) -> dict[str, Any]:
    """A linear corridor: CN yard, 0-6 inner nodes, VN yard, with stations."""
    inner = draw(st.integers(0, 6))
    nodes: list[dict[str, Any]] = [
        {"id": "YA", "kind": "yard", "jurisdiction": "CN", "x_m": 0.0, "y_m": 0.0}
    ]
    x = 0.0
    for i in range(inner):
        x += draw(st.floats(10, 2000))
        kind = draw(st.sampled_from(KINDS))
        node: dict[str, Any] = {
            "id": f"N{i}",
            "kind": kind,
            "jurisdiction": draw(st.sampled_from(["CN", "VN"])),
            "x_m": x,
            "y_m": draw(st.floats(-50, 50)),
        }
        slots = draw(st.integers(1, 8))
        if kind in ("holding_pocket", "passing_bay") or draw(st.booleans()):
            node["holding_slots"] = slots
        if draw(st.booleans()):
            node["wgs84"] = {
                "lat_deg": draw(st.floats(-90, 90)),
                "lon_deg": draw(st.floats(-180, 180)),
            }
        nodes.append(node)
    nodes.append({"id": "YB", "kind": "yard", "jurisdiction": "VN", "x_m": x + 100, "y_m": 0.0})
    segments = []
    for i, (a, b) in enumerate(itertools.pairwise(nodes)):
        holding = all(
            n["kind"] in ("yard", "parking") or n.get("holding_slots", 0) > 0 for n in (a, b)
        )
        modes = ["two_way_dual"] + (["single_alternating"] if holding else [])
        seg = {
            "id": f"S{i}",
            "from": a["id"],
            "to": b["id"],
            "length_m": draw(st.floats(1, 3000)),
            "lane_mode": draw(st.sampled_from(modes)),
            "speed_limit_kph": draw(st.floats(5, 80)),
            "all_clear_s": draw(st.floats(0, 30)),
        }
        if draw(st.booleans()):
            seg["capacity_trucks"] = draw(st.integers(1, 20))
        segments.append(seg)
    stations = []
    for i in range(draw(st.integers(0, 4))):
        stations.append(
            {
                "id": f"ST{i}",
                "node": draw(st.sampled_from([n["id"] for n in nodes])),
                "kind": draw(st.sampled_from(["gate", "scanner", "yard_handling", "token"])),
                "servers": draw(st.integers(1, 6)),
                "directions": draw(
                    st.sampled_from([["SOUTHBOUND"], ["NORTHBOUND"], ["SOUTHBOUND", "NORTHBOUND"]])
                ),
                "service_time_s": draw(st.one_of(DISTS)),
                "share": draw(st.floats(0.01, 1)),
            }
        )
    return {
        "name": "generated", "version": draw(st.integers(1, 9)),
        "following_rule": {"standstill_gap_m": draw(st.floats(0, 10)),
                           "time_gap_s": draw(st.floats(0, 4))},
        "vehicle_classes": [{"id": "v", "length_m": 17.0, "max_speed_kph": 30.0,
                             "accel_loaded_mps2": 0.5, "accel_empty_mps2": 0.8,
                             "braking_mps2": 1.0, "emergency_braking_mps2": 3.0,
                             "battery_range_km": 150.0, "swap_every_round_trips": 16,
                             "swap_time_s": 300.0}],
        "nodes": nodes, "segments": segments, "stations": stations,
    }  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(valid_maps())
def test_generated_maps_round_trip_through_files(tmp_path_factory: Any, doc: dict) -> None:
    lane_map = parse_map(doc, "generated.yaml")
    path: Path = tmp_path_factory.mktemp("maps") / "m.yaml"
    save_map(lane_map, path)
    again = load_map(path)
    assert again == lane_map
    save_map(again, path)
    assert load_map(path) == lane_map


MUTATIONS = [
    (lambda d: d["segments"][0].update(length_m=0.0), "segments[0].length_m must be > 0"),
    (lambda d: d["segments"][0].update(to="GHOST"), "segments[0].to names unknown node 'GHOST'"),
    (lambda d: d["nodes"].append(dict(d["nodes"][0])), "duplicates node id 'YA'"),
    (lambda d: d["nodes"][0].update(kind="castle"), "nodes[0].kind must be one of"),
    (lambda d: d["segments"][0].update(speed_limit_kph=-1.0),
     "segments[0].speed_limit_kph must be > 0"),
    (lambda d: d["following_rule"].pop("time_gap_s"), "following_rule.time_gap_s is required"),
    (lambda d: d["vehicle_classes"][0].update(length_m="long"),
     "vehicle_classes[0].length_m must be a number"),
    (lambda d: d["nodes"][-1].update(jurisdiction="CN"), "nodes must include yards on both sides"),
    (lambda d: d.update(segments=[]), "segments must connect yards both ways"),
]  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(valid_maps(), st.sampled_from(MUTATIONS))
def test_generated_mutations_are_rejected_naming_the_path(doc: dict, mutation: Any) -> None:
    mutate, expected = mutation
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        parse_map(doc, "generated.yaml")
    assert str(info.value).startswith("generated.yaml: ")
    assert expected in str(info.value)
