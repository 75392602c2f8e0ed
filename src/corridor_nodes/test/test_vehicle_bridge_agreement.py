"""The vehicle-bridge node's agreement and clock parameters, on a real rclpy node in-process.

Its MQTT link points at a loopback port where nothing listens (it retries in the background);
the subject here is the agreement: loaded at start, a changed file applied without a restart, a
broken file or path refused while the old agreement stays, and bad parameters named.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import rclpy
from rclpy.parameter import Parameter

from corridor_core.errors import ConfigError
from corridor_core.runs import Direction
from corridor_links.mosquitto import free_port
from corridor_nodes.vehicle_bridge_node import VehicleBridgeNode

ROOT = Path(__file__).resolve().parents[3]
TWO_WAY = (
    (ROOT / "config" / "agreements" / "two-way-2027.yaml")
    .read_text()
    .replace("valid_from: 2027-01-01", "valid_from: 2020-01-01")
    .replace("valid_until: 2027-12-31", "valid_until: 2099-12-31")
)  # valid whatever day the test runs


def _node(tmp_path: Path, **params: str) -> VehicleBridgeNode:
    args = {
        "map_path": str(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"),
        "fleet_path": str(ROOT / "config" / "fleet.yaml"),
        "mqtt_port": str(free_port()),
        "agreement_poll_s": "0.1",
        **params,
    }
    ros_args = ["--ros-args"] + [x for k, v in args.items() for x in ("-p", f"{k}:={v}")]
    rclpy.init(args=ros_args)
    try:
        return VehicleBridgeNode()
    except BaseException:
        rclpy.try_shutdown()
        raise


def _spin(node: VehicleBridgeNode, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)


def _last_entry_s(node: VehicleBridgeNode) -> float:
    span = node.core.calendar.interval_at(Direction.SOUTHBOUND, node.now_s())
    assert span is not None
    return span.last_entry_s


def test_agreement_file_changed_at_run_time_is_applied_and_a_broken_one_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "agreement.yaml"
    path.write_text(TWO_WAY)
    node = _node(tmp_path, agreement_path=str(path))  # wall clock, clock 0 = now
    try:
        assert node.zone == "Asia/Ho_Chi_Minh"  # the agreement's
        first = node.core.calendar.next_open(Direction.SOUTHBOUND, node.now_s())
        assert first is not None and first.last_entry_s - first.open_s == pytest.approx(
            (15 * 60 + 45) * 60
        )
        # the window is cut: last entry 19:45 instead of 21:45
        path.write_text(TWO_WAY.replace('close: "22:00"', 'close: "20:00"'))
        _spin(node, 1.0)
        cut = node.core.calendar.next_open(Direction.SOUTHBOUND, node.now_s())
        assert cut is not None and cut.last_entry_s == pytest.approx(first.last_entry_s - 7200)
        # a broken file: refused, the cut agreement stays
        path.write_text(TWO_WAY.replace('close: "22:00"', 'close: "25:00"'))
        _spin(node, 1.0)
        still = node.core.calendar.next_open(Direction.SOUTHBOUND, node.now_s())
        assert still == cut
        # a new path by parameter: a missing file is refused with the loader's error
        result = node.set_parameters(
            [Parameter("agreement_path", Parameter.Type.STRING, str(tmp_path / "missing.yaml"))]
        )[0]
        assert not result.successful and "missing.yaml" in result.reason
        assert node.core.calendar.next_open(Direction.SOUTHBOUND, node.now_s()) == cut
        # empty path: always open
        result = node.set_parameters([Parameter("agreement_path", Parameter.Type.STRING, "")])[0]
        assert result.successful
        assert _last_entry_s(node) == float("inf")
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"start_time": "2027-03-02T06:00:00", "time_zone": "Asia/Hanoi2"},
            "parameter time_zone: 'Asia/Hanoi2' is no IANA time zone",
        ),
        ({"start_time": "tomorrow"}, "parameter start_time: 'tomorrow' is no ISO 8601 date-time"),
        ({"time_scale": "50.0"}, "parameter time_scale: is 50, but the node does not scale"),
        ({"agreement_path": "nowhere.yaml"}, "nowhere.yaml: cannot be read"),
    ],
)
def test_bad_parameters_are_named(tmp_path: Path, params: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _node(tmp_path, **params)
    rclpy.try_shutdown()
    assert str(info.value).startswith(message), str(info.value)
