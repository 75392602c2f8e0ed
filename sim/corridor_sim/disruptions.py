"""Disruptions of the reference scenario (facts §4.8): which are on, and their parameters.

Two kinds: *rates* that apply all the time (OCR misread, e-seal mismatch, scanner hold, red
channel, breakdowns, positioning loss) and *episodes* placed at a seeded random time in the
study (fog, crossing token withheld, window shortened at short notice, battery-swap station
down). Each is switched on by name and draws from its own random stream, so switching one on
does not change the draws of the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from corridor_core.errors import ConfigError

RATE_KINDS = (
    "ocr_misread",  # gate exception -> remote manual check (the map's exception probability)
    "seal_mismatch",  # 0.5 %: hold at the next gate for U(5, 15) min
    "scanner_hold",  # the map's inspection share on the scanned direction (e.g. CN 2 %)
    "red_channel",  # the map's physical inspection share (e.g. VN 5 %)
    "breakdown",  # MTBF of driving time; blocks the segment for lognormal mean 20 min
    "positioning_loss",  # 5G/positioning loss: stop where it is for U(1, 5) min
)
EPISODE_KINDS = (
    "fog",  # v_max 15 km/h and time gap 3 s for U(1, 3) h
    "token_withheld",  # the other side withholds crossing tokens for U(10, 30) min
    "window_shortened",  # the window in force closes 1 h early, announced 30 min ahead
    "swap_station_down",  # the battery-swap station is down for U(1, 3) h
)
ALL = RATE_KINDS + EPISODE_KINDS
DEFAULT = RATE_KINDS


@dataclass(frozen=True)
class DisruptionParams:
    """Parameters of the disruptions (units in the names)."""

    seal_mismatch_probability: float = 0.005
    seal_hold_s: tuple[float, float] = (300.0, 900.0)
    mtbf_driving_h: float = 200.0
    breakdown_repair_mean_s: float = 1200.0
    breakdown_repair_sd_s: float = 600.0
    positioning_loss_per_driving_h: float = 0.05
    positioning_loss_s: tuple[float, float] = (60.0, 300.0)
    fog_speed_kph: float = 15.0
    fog_time_gap_s: float = 3.0
    fog_duration_s: tuple[float, float] = (3600.0, 3 * 3600.0)
    token_withheld_s: tuple[float, float] = (600.0, 1800.0)
    window_shortened_by_s: float = 3600.0
    window_notice_s: float = 1800.0
    swap_down_s: tuple[float, float] = (3600.0, 3 * 3600.0)


def parse_switches(text: str) -> frozenset[str]:
    """``default``, ``all``, ``none`` or a comma list of names (``default,fog`` adds fog).

    Raises:
        ConfigError: an unknown name (the message lists the known ones).
    """
    out: set[str] = set()
    for raw in text.split(","):
        name = raw.strip().replace("-", "_")
        if not name or name == "none":
            continue
        if name == "all":
            out.update(ALL)
        elif name == "default":
            out.update(DEFAULT)
        elif name in ALL:
            out.add(name)
        else:
            raise ConfigError(
                "--disruptions",
                "",
                f"{raw.strip()!r} is unknown; known: default, all, none, {', '.join(ALL)}",
            )
    return frozenset(out)


def breakdown_repair_s(prm: DisruptionParams, rng: Any) -> float:
    """One breakdown's repair time (s): lognormal with the parameters' mean and sd."""
    ratio = prm.breakdown_repair_sd_s / prm.breakdown_repair_mean_s
    sigma2 = math.log(1 + ratio**2)
    mu = math.log(prm.breakdown_repair_mean_s) - sigma2 / 2
    return float(rng.lognormal(mu, math.sqrt(sigma2)))
