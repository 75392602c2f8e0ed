"""Simulator scenarios: which map, agreement, day and fleet a study runs on.

A scenario file (``config/scenarios/<name>.yaml``) names the map and agreement (paths relative
to the scenario file), the local day, the hour the study is measured from and the warm-up
before it. ``--scenario`` takes a name from that folder or a path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from corridor_core.config_reader import load_yaml
from corridor_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "config" / "scenarios"


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario."""

    name: str
    map_path: Path
    agreement_path: Path | None
    time_zone: str
    measure_from: dt.datetime  # aware: the instant study hours are counted from
    warm_up_s: float
    fleet: int


def scenario_path(name_or_path: str) -> Path:
    """The file of a scenario given by name or path.

    Raises:
        ConfigError: no such scenario (the message lists the known names).
    """
    as_path = Path(name_or_path)
    if as_path.suffix in (".yaml", ".yml") and as_path.exists():
        return as_path
    candidate = SCENARIOS / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    known = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
    raise ConfigError(
        "--scenario", "", f"{name_or_path!r} is no scenario file or name; known: {', '.join(known)}"
    )


def load_scenario(name_or_path: str) -> Scenario:
    """Read and check a scenario file.

    Raises:
        ConfigError: naming the file and the field at fault.
    """
    path = scenario_path(name_or_path)
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError(str(path), "", "must be a mapping")

    def need(key: str) -> object:
        if key not in doc:
            raise ConfigError(str(path), key, "is required")
        return doc[key]

    base = path.parent
    map_path = (base / str(need("map"))).resolve()
    if not map_path.exists():
        raise ConfigError(str(path), "map", f"{doc['map']!r} does not exist")
    agreement = doc.get("agreement")
    agreement_path = (base / str(agreement)).resolve() if agreement else None
    if agreement_path is not None and not agreement_path.exists():
        raise ConfigError(str(path), "agreement", f"{agreement!r} does not exist")
    tz = str(need("time_zone"))
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(str(path), "time_zone", f"{tz!r} is not an IANA time zone") from exc
    try:
        day = dt.date.fromisoformat(str(need("date")))
        hh, mm = (int(x) for x in str(doc.get("measure_from", "00:00")).split(":"))
        start = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=zone)
    except ValueError as exc:
        raise ConfigError(
            str(path), "date", f"or measure_from is malformed ({exc}); use YYYY-MM-DD and HH:MM"
        ) from exc
    fleet = int(doc.get("fleet", 40))
    if fleet < 1:
        raise ConfigError(str(path), "fleet", "must be >= 1")
    warm = float(doc.get("warm_up_min", 30)) * 60.0
    return Scenario(str(doc.get("name", path.stem)), map_path, agreement_path, tz, start, warm,
                    fleet)  # fmt: skip
