"""Shared benchmark instances built from the project's maps (deterministic per seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corridor_core.map_io import load_map
from corridor_core.planning.dispatch import Job, Network, Vehicle

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "maps" / "tan-thanh-puzhai-2027.yaml"


def corridor_network(map_path: Path = REFERENCE) -> tuple[Network, list[str], float]:
    """Yard-to-yard drive times (free flow at the speed limits) and distances."""
    lane_map = load_map(map_path)
    yards = lane_map.yards()
    vmax = lane_map.vehicle_class().max_speed_kph
    travel, dist = {}, {}
    for a in yards:
        for b in yards:
            if a != b:
                legs = lane_map.route(a, b)
                travel[(a, b)] = sum(
                    leg.segment.length_m / (min(leg.segment.speed_limit_kph, vmax) / 3.6)
                    for leg in legs
                )
                dist[(a, b)] = sum(leg.segment.length_m for leg in legs)
    lift_s = max(
        (s.mean_occupancy_s(False) for s in lane_map.stations if s.kind.value == "yard_handling"),
        default=180.0,
    )
    return Network(travel, dist), yards, lift_s


def dispatch_instance(
    trucks: int, runs: int, seed: int, horizon_s: float = 16 * 3600, window_s: float = 3 * 3600
) -> tuple[list[Job], list[Vehicle], Network]:
    """``runs`` jobs between the yards (55 % leaving the first yard), ready uniformly over the
    horizon, each with a pick-up window of ``window_s``; trucks spread over the yards."""
    rng = np.random.default_rng(seed)
    network, yards, lift_s = corridor_network()
    jobs = []
    for i in range(runs):
        a, b = (yards[0], yards[1]) if rng.random() < 0.55 else (yards[1], yards[0])
        ready = float(rng.uniform(0, horizon_s - window_s))
        jobs.append(
            Job(
                f"R{i:04d}",
                a,
                b,
                ready,
                ready + window_s,
                2 * lift_s + network.t(a, b),
                network.d(a, b),
            )
        )
    vehicles = [Vehicle(f"T{k:02d}", yards[k % len(yards)], 0.0) for k in range(trucks)]
    return jobs, vehicles, network
