"""ROS parameters of the nodes, declared once and read into frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclpy.node import Node


def _declare(node: Node, defaults: dict[str, Any], secret: str) -> dict[str, Any]:
    """Declare ``defaults`` on ``node``; replace the ``<secret>_file`` entry by the file's text."""
    values = {k: node.declare_parameter(k, v).value for k, v in defaults.items()}
    secret_file = values.pop(f"{secret}_file")
    values[secret] = Path(secret_file).read_text(encoding="utf-8").strip() if secret_file else ""
    return values


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
        return cls(**_declare(node, p, "mqtt_password"))


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
        return cls(**_declare(node, p, "opcua_password"))


@dataclass(frozen=True)
class VehicleBridgeParams:
    """Parameters of ``corridor_vehicle_bridge``.

    ``time_scale``: controller-clock seconds per wall-clock second (1 in service; the emulated
    fleet runs faster). The ``*_s`` link timings are in controller-clock seconds.
    """

    map_path: str
    fleet_path: str
    mqtt_host: str
    mqtt_port: int
    mqtt_user: str
    mqtt_password: str
    mqtt_tls_ca: str
    time_scale: float
    tick_period_s: float
    controller: str
    resend_after_s: float
    release_lead_s: float
    keep_plan_times: bool
    silent_after_s: float
    late_tolerance_s: float

    @classmethod
    def declare(cls, node: Node) -> VehicleBridgeParams:
        """Declare the parameters on ``node`` and read them."""
        p = {
            "map_path": "maps/tan-thanh-puzhai-2027.yaml",
            "fleet_path": "config/fleet.yaml",
            "mqtt_host": "127.0.0.1",
            "mqtt_port": 1883,
            "mqtt_user": "corridor-controller",
            "mqtt_password_file": "",
            "mqtt_tls_ca": "",
            "time_scale": 1.0,
            "tick_period_s": 0.05,
            "controller": "corridor",
            "resend_after_s": 30.0,
            "release_lead_s": 5.0,
            "keep_plan_times": False,
            "silent_after_s": 60.0,
            "late_tolerance_s": 10.0,
        }
        return cls(**_declare(node, p, "mqtt_password"))
