"""Container arrivals: workload presets and the arrival process.

Export containers appear at their origin yard as Poisson arrivals with a time-of-day profile
(reference scenario, facts §4.5): northbound goods peak 14:00-20:00 local time, southbound is
flat. 85 % of loads are one 40' box, 15 % two 20' boxes on one truck; 40 % of northbound loads
are reefers with a 6 h origin-to-destination-yard SLA.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from corridor_core.errors import ConfigError
from corridor_core.runs import Direction


@dataclass(frozen=True)
class Preset:
    """An arrival preset: offered loads per hour (a 2 x 20' pair is one load)."""

    name: str
    loads_per_h: float
    southbound_share: float = 0.55
    twenty_foot_pair_share: float = 0.15
    northbound_reefer_share: float = 0.40
    reefer_sla_s: float = 6 * 3600.0
    northbound_peak: tuple[int, int, float] = (14, 20, 1.6)  # local hours [from, to), factor


PRESETS = {
    "nominal": Preset("nominal", 70.0),
    "stress": Preset("stress", 150.0),
    "design": Preset("design", 117.0),
}


def preset(name: str, loads_per_h: float | None = None) -> Preset:
    """A preset by name, optionally with another offered rate.

    Raises:
        ConfigError: unknown preset name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise ConfigError("--preset", "", f"{name!r} is unknown; choose one of {sorted(PRESETS)}")
    base = PRESETS[name]
    if loads_per_h is None:
        return base
    if loads_per_h <= 0:
        raise ConfigError("--rate", "", f"{loads_per_h} must be > 0 (offered loads per hour)")
    return dataclasses.replace(base, loads_per_h=loads_per_h)


@dataclass(frozen=True)
class Arrival:
    """One load appearing at its origin yard."""

    t_s: float
    direction: Direction
    boxes: int  # 1 (40') or 2 (2 x 20')
    reefer: bool
    due_s: float  # SLA deadline at the destination yard; 0 when none


def _profile_factor(p: Preset, direction: Direction, local_hour: int) -> float:
    if direction is Direction.SOUTHBOUND:
        return 1.0
    start, end, peak = p.northbound_peak
    hours_peak = end - start
    # normalised so the daily mean is 1
    off = (24 - hours_peak * peak) / (24 - hours_peak)
    return peak if start <= local_hour < end else off


def arrivals(
    p: Preset,
    start_s: float,
    end_s: float,
    epoch: dt.datetime,
    time_zone: str,
    rng: np.random.Generator,
) -> list[Arrival]:
    """Every arrival in [start_s, end_s), sorted by time (thinning of a Poisson process).

    ``epoch`` is the instant of sim time 0; ``time_zone`` the clock of the profile's hours.
    """
    zone = ZoneInfo(time_zone)
    out: list[Arrival] = []
    for direction, share in (
        (Direction.SOUTHBOUND, p.southbound_share),
        (Direction.NORTHBOUND, 1.0 - p.southbound_share),
    ):
        rate_h = p.loads_per_h * share
        peak = max(_profile_factor(p, direction, h) for h in range(24))
        lam_max_s = rate_h * peak / 3600.0
        if lam_max_s <= 0:
            continue
        t = start_s
        while True:
            t += float(rng.exponential(1.0 / lam_max_s))
            if t >= end_s:
                break
            hour = (epoch + dt.timedelta(seconds=t)).astimezone(zone).hour
            if rng.random() * peak > _profile_factor(p, direction, hour):
                continue
            boxes = 2 if rng.random() < p.twenty_foot_pair_share else 1
            reefer = direction is Direction.NORTHBOUND and rng.random() < p.northbound_reefer_share
            out.append(Arrival(t, direction, boxes, reefer, t + p.reefer_sla_s if reefer else 0.0))
    out.sort(key=lambda a: (a.t_s, a.direction.value))
    return out
