"""ROS parameters of the nodes, declared once and read into frozen dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rclpy.node import Node

from corridor_core.errors import ConfigError


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

    The controller's clock counts seconds since ``start_time`` on the node's ROS clock: the
    wall clock in service, ``/clock`` with ``use_sim_time`` (an accelerated harness). The
    ``*_s`` link timings are in controller-clock seconds.

    ``agreement_path``: agreement YAML (``config/agreements/*.yaml``); "" = always open (logged
    as a warning). ``time_zone``: IANA name the controller's clock and its log are expressed
    in ("" = the agreement's). ``start_time``: ISO 8601 date-time of clock 0 ("" = when the
    clock starts; without an offset it is read in ``time_zone``). ``time_scale``: the rate of
    ``/clock`` against the wall clock, for the log; the node never scales its clock itself, so
    a value other than 1 needs ``use_sim_time``. ``agreement_poll_s``: wall-clock seconds
    between checks of the agreement file for changes.
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
    clearance_allowance_s: float
    agreement_path: str
    time_zone: str
    start_time: str
    agreement_poll_s: float

    @classmethod
    def declare(cls, node: Node) -> VehicleBridgeParams:
        """Declare the parameters on ``node``, read and check them.

        Raises:
            ConfigError: naming the parameter and the rule it breaks.
        """
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
            "clearance_allowance_s": 120.0,
            "agreement_path": "",
            "time_zone": "",
            "start_time": "",
            "agreement_poll_s": 2.0,
        }
        params = cls(**_declare(node, p, "mqtt_password"))
        params.check(bool(node.get_parameter("use_sim_time").value))
        return params

    def check(self, use_sim_time: bool) -> None:
        """Check the clock and agreement parameters (the files are read by the node).

        Raises:
            ConfigError: naming the parameter and the rule it breaks.
        """
        if not self.time_scale > 0:
            raise _param_error("time_scale", f"must be > 0, got {self.time_scale!r}")
        if self.time_scale != 1.0 and not use_sim_time:
            raise _param_error(
                "time_scale",
                f"is {self.time_scale:g}, but the node does not scale its clock: set "
                "use_sim_time true and publish /clock at that rate (corridor run does)",
            )
        if not self.agreement_poll_s > 0:
            raise _param_error("agreement_poll_s", f"must be > 0, got {self.agreement_poll_s!r}")
        if self.time_zone:
            time_zone(self.time_zone)
        if self.start_time:
            start_time(self.start_time, self.time_zone or "UTC")


def _param_error(name: str, rule: str) -> ConfigError:
    return ConfigError(f"parameter {name}", "", rule)


def time_zone(name: str) -> ZoneInfo:
    """The zone of the ``time_zone`` parameter.

    Raises:
        ConfigError: ``name`` is no IANA time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _param_error(
            "time_zone", f"{name!r} is no IANA time zone (e.g. Asia/Ho_Chi_Minh, Asia/Shanghai)"
        ) from exc


def start_time(text: str, zone: str) -> dt.datetime:
    """The instant of the ``start_time`` parameter; without an offset it is read in ``zone``.

    Raises:
        ConfigError: ``text`` is no ISO 8601 date-time.
    """
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _param_error(
            "start_time",
            f"{text!r} is no ISO 8601 date-time (e.g. 2027-03-02T06:00:00+07:00)",
        ) from exc
    if at.tzinfo is None or at.utcoffset() is None:
        at = at.replace(tzinfo=time_zone(zone))
    return at
