"""The fleet: which trucks exist, their VDA 5050 identity, plate and home node.

Fleet files are YAML under ``config/`` (``config/fleet.yaml`` by default)::

    manufacturer: CorridorSim
    trucks:
      - serial: T01
        plate: "桂F·D3101"
        home_node: Z-CN
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor_core.config_reader import Field, load_yaml
from corridor_core.errors import ConfigError, IdentityError
from corridor_core.lane_map import LaneMap
from corridor_core.plates import parse_plate

# VDA 5050 recommends A-Z a-z 0-9 _ - . : in ids; they also become MQTT topic levels.
_VDA_ID = re.compile(r"^[A-Za-z0-9_.:\-]+$")


@dataclass(frozen=True)
class Truck:
    """One truck of the fleet."""

    serial: str  # VDA 5050 serialNumber, also its MQTT user name
    plate: str  # normalised plate
    home_node: str  # map node where it starts


@dataclass(frozen=True)
class Fleet:
    """All trucks of one manufacturer namespace."""

    manufacturer: str
    trucks: tuple[Truck, ...]

    def by_serial(self, serial: str) -> Truck | None:
        """The truck with this serial, or None."""
        return next((t for t in self.trucks if t.serial == serial), None)

    def by_plate(self, plate: str) -> Truck | None:
        """The truck with this plate (any spelling of it), or None."""
        try:
            normal = parse_plate(plate).normalized
        except IdentityError:
            return None
        return next((t for t in self.trucks if t.plate == normal), None)


def parse_fleet(data: Any, source: str, lane_map: LaneMap | None = None) -> Fleet:
    """Build a Fleet from a parsed document; checks ids, plates and home nodes.

    Raises:
        ConfigError: naming the file, the path and the rule.
    """
    root = Field(source, "", data)
    manufacturer = root.get("manufacturer").text()
    if not _VDA_ID.match(manufacturer):
        raise root.get("manufacturer").error("may contain only A-Z a-z 0-9 _ - . :")
    trucks: list[Truck] = []
    for item in root.get("trucks").items():
        serial_field = item.get("serial")
        serial = serial_field.text()
        if not _VDA_ID.match(serial):
            raise serial_field.error("may contain only A-Z a-z 0-9 _ - . :")
        if any(t.serial == serial for t in trucks):
            raise serial_field.error(f"duplicates serial {serial!r}")
        plate_field = item.get("plate")
        try:
            plate = parse_plate(plate_field.text()).normalized
        except IdentityError as exc:
            raise plate_field.error(f"is not a valid plate: {exc}") from exc
        if any(t.plate == plate for t in trucks):
            raise plate_field.error(f"duplicates plate {plate!r}")
        home = item.get("home_node")
        if lane_map is not None and not lane_map.has_node(home.text()):
            raise home.error(f"names unknown map node {home.value!r}")
        trucks.append(Truck(serial=serial, plate=plate, home_node=home.text()))
    if not trucks:
        raise ConfigError(source, "trucks", "must list at least one truck")
    return Fleet(manufacturer=manufacturer, trucks=tuple(trucks))


def load_fleet(path: str | Path, lane_map: LaneMap | None = None) -> Fleet:
    """Load and validate a fleet file."""
    return parse_fleet(load_yaml(path), str(path), lane_map)
