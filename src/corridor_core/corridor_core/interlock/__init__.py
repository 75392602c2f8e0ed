"""The interlock: the only place that decides whether a truck may take a piece of lane.

- :mod:`~corridor_core.interlock.limits`: the limits, each defined once (standing places per
  node, the places per direction, the platoon cap of a block, the stations a truck stops at,
  the room in a segment);
- :mod:`~corridor_core.interlock.leg_time`: leg time (trapezoidal speed profile);
- :mod:`~corridor_core.interlock.places`: who holds which place at the nodes;
- :mod:`~corridor_core.interlock.signals`: the block signals (claims, asks, phases);
- :mod:`~corridor_core.interlock.lane`: the block-entry rule over the lane's occupancy;
- :mod:`~corridor_core.interlock.grants`: the same rule for a controller that releases order
  pieces ahead of the trucks (the fleet controller);
- :mod:`~corridor_core.interlock.departure`: window, last entry and close at departure, and the
  crossing (clearance, token).

Pure: no clock of its own, no I/O. See ``docs/interlock.md``.
"""

from corridor_core.interlock.departure import crossing_allowed, window_allows_departure
from corridor_core.interlock.grants import Grants
from corridor_core.interlock.lane import LaneInterlock
from corridor_core.interlock.leg_time import leg_time_s
from corridor_core.interlock.limits import (
    DWELL_KINDS,
    following_headway_s,
    opposite,
    platoon_cap,
    standing_capacities,
    standing_capacity,
)
from corridor_core.interlock.places import Places
from corridor_core.interlock.signals import BlockSignals

__all__ = [
    "DWELL_KINDS",
    "BlockSignals",
    "Grants",
    "LaneInterlock",
    "Places",
    "crossing_allowed",
    "following_headway_s",
    "leg_time_s",
    "opposite",
    "platoon_cap",
    "standing_capacities",
    "standing_capacity",
    "window_allows_departure",
]
