"""ROS parameters of the nodes, declared once and read into frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rclpy.node import Node


def _read_secret(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class DispatcherParams:
    """Parameters of ``corridor_dispatcher``."""

    map_path: str
    fleet_path: str
    mqtt_host: str
    mqtt_port: int
    mqtt_user: str
    mqtt_password: str
    drain_period_s: float

    @classmethod
    def declare(cls, node: Node) -> DispatcherParams:
        """Declare the parameters on ``node`` and read them."""
        p = {
            "map_path": "maps/tan-thanh-puzhai-2027.yaml",
            "fleet_path": "config/fleet.yaml",
            "mqtt_host": "127.0.0.1",
            "mqtt_port": 1883,
            "mqtt_user": "corridor-controller",
            "mqtt_password_file": "",
            "drain_period_s": 0.02,
        }
        values = {k: node.declare_parameter(k, v).value for k, v in p.items()}
        secret_file = values.pop("mqtt_password_file")
        return cls(mqtt_password=_read_secret(secret_file) if secret_file else "", **values)


@dataclass(frozen=True)
class BridgeParams:
    """Parameters of ``corridor_checkpoint_bridge``."""

    opcua_url: str
    opcua_user: str
    opcua_password: str
    drain_period_s: float

    @classmethod
    def declare(cls, node: Node) -> BridgeParams:
        """Declare the parameters on ``node`` and read them."""
        p = {
            "opcua_url": "opc.tcp://127.0.0.1:4840/corridor/checkpoint",
            "opcua_user": "corridor",
            "opcua_password_file": "",
            "drain_period_s": 0.02,
        }
        values = {k: node.declare_parameter(k, v).value for k, v in p.items()}
        secret_file = values.pop("opcua_password_file")
        return cls(opcua_password=_read_secret(secret_file) if secret_file else "", **values)
