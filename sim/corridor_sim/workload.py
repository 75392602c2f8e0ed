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
from corridor_core.iso6346 import with_check_digit
from corridor_core.lane_map import LaneMap
from corridor_core.runs import ContainerRun, Direction


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


LOOP_OWNERS = ("CSQU", "TEXU", "MSCU", "TGHU", "OOLU", "CMAU")
LOOP_EPOCH = dt.datetime(2027, 3, 2, 6, 0, tzinfo=dt.UTC)  # the loop's simulated second 0
HELD_PLATE = "桂F·X0000"  # a plate no truck has: customs holds a run declared with it


@dataclass(frozen=True)
class LoopLoad:
    """One run of the loop's workload, submitted at ``at_s``; ``declared_plate`` is the plate
    on its manifest when it is not its truck's ("" : its truck's)."""

    at_s: float
    run: ContainerRun
    declared_plate: str = ""


def loop_workload(
    lane_map: LaneMap, preset_name: str, minutes: float, seed: int, hold_every: int = 25
) -> list[LoopLoad]:
    """The workload of ``corridor run``: ``preset_name``'s arrivals over ``minutes`` after a
    30-minute backlog (submitted at 0), run ids ``L-0001``..., real-looking container numbers;
    every ``hold_every``-th run's manifest names a plate no truck has, so customs holds it."""
    rng = np.random.default_rng(seed)
    loads = arrivals(
        preset(preset_name), -1800.0, minutes * 60.0, LOOP_EPOCH, "Asia/Ho_Chi_Minh", rng
    )
    cn, vn = lane_map.yard_of("CN"), lane_map.yard_of("VN")
    out = []
    for i, load in enumerate(loads, start=1):
        south = load.direction is Direction.SOUTHBOUND
        owner = LOOP_OWNERS[int(rng.integers(len(LOOP_OWNERS)))]
        number = with_check_digit(f"{owner}{int(rng.integers(0, 1_000_000)):06d}")
        run = ContainerRun(
            f"L-{i:04d}", number, cn if south else vn, vn if south else cn, load.direction
        )
        declared = HELD_PLATE if i % hold_every == 0 else ""
        out.append(LoopLoad(max(0.0, load.t_s), run, declared))
    return out
