"""Maps and fleets load into frozen objects; broken files name the path and the rule."""

from pathlib import Path

import pytest
import yaml

from corridor_core.errors import ConfigError
from corridor_core.fleet import load_fleet, parse_fleet
from corridor_core.lane_map import LaneMode, NoRoute
from corridor_core.map_io import load_map, parse_map

ROOT = Path(__file__).resolve().parents[3]
MAP = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"


def _map_doc() -> dict:
    return yaml.safe_load(MAP.read_text())


def test_reference_map_loads_and_routes_both_ways() -> None:
    lane_map = load_map(MAP)
    south = [leg.end_node for leg in lane_map.route("Z-CN", "Z-VN")]
    assert south == ["G-CN", "P-N", "P-S", "B0", "PB", "G-VN", "Z-VN"]
    north = [leg.end_node for leg in lane_map.route("Z-VN", "Z-CN")]
    assert north[-1] == "Z-CN" and len(north) == 7
    tunnel = next(s for s in lane_map.segments if s.segment_id == "S2")
    assert tunnel.lane_mode is LaneMode.SINGLE_ALTERNATING


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["segments"][3].update(length_m=0), "x.yaml: segments[3].length_m must be > 0"),
        (
            lambda d: d["segments"][0].update(to="NOWHERE"),
            "x.yaml: segments[0].to names unknown node 'NOWHERE'",
        ),
        (
            lambda d: d["nodes"][1].update(id="Z-CN"),
            "x.yaml: nodes[1].id duplicates node id 'Z-CN'",
        ),
        (lambda d: d["nodes"][0].update(kind="castle"), "x.yaml: nodes[0].kind must be one of"),
        (
            lambda d: d["segments"][2].pop("speed_limit_kph"),
            "x.yaml: segments[2].speed_limit_kph is required",
        ),
        (
            lambda d: d["segments"][2].update(lane_mode="sideways"),
            "x.yaml: segments[2].lane_mode must be one of",
        ),
        (lambda d: d.pop("name"), "x.yaml: name is required"),
    ],
)
def test_broken_maps_name_file_path_and_rule(mutate, message: str) -> None:
    doc = _map_doc()
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        parse_map(doc, "x.yaml")
    assert str(info.value).startswith(message)


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_map(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_map(bad)


def test_route_between_unconnected_nodes_raises() -> None:
    with pytest.raises(NoRoute):
        load_map(MAP).route("Z-CN", "NOWHERE")


def test_fleet_loads_and_rejects_bad_plates_and_unknown_homes() -> None:
    lane_map = load_map(MAP)
    fleet = load_fleet(ROOT / "config" / "fleet.yaml", lane_map)
    assert fleet.by_plate("桂FD3101") is not None
    doc = {"manufacturer": "M", "trucks": [{"serial": "T1", "plate": "nope", "home_node": "Z-CN"}]}
    with pytest.raises(ConfigError, match=r"f.yaml: trucks\[0\].plate is not a valid plate"):
        parse_fleet(doc, "f.yaml", lane_map)
    doc["trucks"][0].update(plate="桂F·12345", home_node="MARS")
    with pytest.raises(ConfigError, match=r"trucks\[0\].home_node names unknown map node"):
        parse_fleet(doc, "f.yaml", lane_map)
    doc["trucks"][0].update(home_node="Z-CN", serial="T/1")
    with pytest.raises(ConfigError, match=r"trucks\[0\].serial may contain only"):
        parse_fleet(doc, "f.yaml", lane_map)
