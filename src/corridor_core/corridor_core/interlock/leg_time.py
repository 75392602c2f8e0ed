"""Leg time, defined once: seconds to drive one segment with a trapezoidal speed profile.

The simulator drives its trucks by it (with the speeds they enter and leave at), the router
plans every leg by it (from rest to rest, loaded: the conservative case), and the capacity
calculator adds it up over a yard-to-yard route (stopping at the stations, rolling through the
other nodes).
"""

from __future__ import annotations

import math


def leg_time_s(
    length_m: float,
    cruise_mps: float,
    start_mps: float,
    end_mps: float,
    accel_mps2: float,
    braking_mps2: float,
) -> float:
    """Seconds to drive ``length_m`` starting at ``start_mps`` and ending at ``end_mps``,
    accelerating at ``accel_mps2`` up to ``cruise_mps`` and braking at ``braking_mps2``.

    When the segment is too short to reach cruise speed the profile is triangular; when it is
    too short even to reach ``end_mps`` the truck ends at whatever speed it reached.

    >>> round(leg_time_s(600.0, 20 / 3.6, 0.0, 0.0, 0.5, 1.0), 1)
    116.3
    """
    v = cruise_mps
    v0 = min(start_mps, v)
    a, b = accel_mps2, braking_mps2
    v1 = min(end_mps, v, math.sqrt(v0 * v0 + 2 * a * length_m))
    d_up = (v * v - v0 * v0) / (2 * a)
    d_down = (v * v - v1 * v1) / (2 * b)
    if d_up + d_down <= length_m:
        return (v - v0) / a + (v - v1) / b + (length_m - d_up - d_down) / v
    peak = math.sqrt((2 * a * b * length_m + b * v0 * v0 + a * v1 * v1) / (a + b))
    return (peak - v0) / a + max(0.0, peak - v1) / b
