"""The lane's limits, each defined once: standing places per node, the places each direction
may hold, the platoon cap of a single-lane block, and the stations a truck stops at.

Everything that needs one of these imports it from here: the router and the planner, the
capacity calculator, the interlock (:class:`~corridor_core.interlock.places.Places`, the block
signals), the simulator and both independent checkers (the plan checker and the run checker).
Leg times are in :mod:`corridor_core.interlock.leg_time`.

Standing places (:func:`standing_capacity`): the trucks that may be at a node at once, served or
standing: its holding slots plus one per service lane of every station there (a truck in a
gate lane, in the scanner, at a token desk stands on a place of its own). Yards and parkings
have room for every truck (infinite). This is the count the simulator's places keep and the
run checker verifies on the occupancy rows (a node row spans the whole stay, service included);
the planner bounds its planned stays at a node by the same number (a stay is a truck standing
there outside a service; its service is bounded by the station's servers on its own).

On the reference map: G-CN 6 + 2 + 2 + 1 = 11, B0 3 + 3 = 6, PB 3, G-VN 3 + 1 + 1 = 5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from corridor_core.lane_map import UNBOUNDED_HOLDING_KINDS, LaneMap, LaneMode, StationKind
from corridor_core.runs import Direction

DWELL_KINDS: tuple[StationKind, ...] = (
    StationKind.GATE,
    StationKind.SCANNER,
    StationKind.TOKEN,
    StationKind.WEIGHBRIDGE,
)
"""Station kinds a truck stops at on the lane (it stands at the node while served there).
The other kinds (yard handling, inspection, battery swap) are at yards."""

UNBOUNDED_KINDS = UNBOUNDED_HOLDING_KINDS
"""Node kinds with room for every truck (yards, parkings; the map's own definition)."""

DEFAULT_PLATOON_CAP = 8
"""Platoon cap of a block whose ends are both unbounded (a yard or a parking at each end)."""

MIN_PLATOON_CAP = 2
"""The least platoon cap a block gets when the controller sets none (two trucks in a row)."""


def opposite(d: Direction) -> Direction:
    """The other direction."""
    return Direction.NORTHBOUND if d is Direction.SOUTHBOUND else Direction.SOUTHBOUND


def standing_capacity(lane_map: LaneMap, node_id: str) -> float:
    """Trucks that may be at ``node_id`` at once, served or standing (see the module docstring).

    Returns:
        ``math.inf`` at a yard or parking; otherwise ``holding_slots`` plus the ``servers`` of
        every station at the node, as a float (trucks).
    """
    node = lane_map.node(node_id)
    if node.kind in UNBOUNDED_KINDS:
        return math.inf
    lanes = sum(st.servers for st in lane_map.stations_at(node_id))
    return float(node.holding_slots + lanes)


def standing_capacities(lane_map: LaneMap) -> dict[str, float]:
    """:func:`standing_capacity` of every node, by node id."""
    return {n.node_id: standing_capacity(lane_map, n.node_id) for n in lane_map.nodes}


def platoon_cap(lane_map: LaneMap, segment_id: str, controller_cap: int | None) -> int:
    """Most trucks one direction may send into single-lane block ``segment_id`` in a row
    while the other direction waits (trucks).

    Args:
        controller_cap: the controller's platoon limit (``fifo`` 1, ``batch3`` 3), or None
            for the ``corridor`` controller, which lets a platoon be as large as the larger
            :func:`standing_capacity` at the block's two ends (at least
            :data:`MIN_PLATOON_CAP`; :data:`DEFAULT_PLATOON_CAP` when both ends are unbounded).

    Returns:
        ``max(1, controller_cap)``, or the corridor cap above. The block signals hold a phase
        to this cap, the places keep room for such a platoon (:func:`direction_place_limits`)
        and the planner plans convoys of at most this many trucks.

    On the reference map (``corridor``): S2 6, S4a 6 (B0), S4b 5 (G-VN).
    """
    if controller_cap is not None:
        return max(1, controller_cap)
    segment = lane_map.segment(segment_id)
    ends = [standing_capacity(lane_map, n) for n in (segment.from_node, segment.to_node)]
    finite = [int(c) for c in ends if not math.isinf(c)]
    return max(MIN_PLATOON_CAP, max(finite, default=DEFAULT_PLATOON_CAP))


def arrival_segments(lane_map: LaneMap) -> dict[tuple[str, Direction], str]:
    """The segment a truck of each direction arrives at each node by, along the yard-to-yard
    route (``(node, direction) -> segment id``; the origin yards are absent)."""
    home = lane_map.yard_of(lane_map.southbound_from)
    away = lane_map.yard_of(lane_map.far_side())
    out: dict[tuple[str, Direction], str] = {}
    for d, (a, b) in (
        (Direction.SOUTHBOUND, (home, away)),
        (Direction.NORTHBOUND, (away, home)),
    ):
        for leg in lane_map.route(a, b):
            out[(leg.end_node, d)] = leg.segment.segment_id
    return out


def platoon_places(capacity: float, block_cap: int) -> int:
    """Places at a node that one direction must leave to a platoon of the other, where that
    one comes out of a single-lane block and must stand at the node (a service there, the
    border point): the block's cap, at most half the places (one at an unbounded node), so
    that block's platoons fit (trucks)."""
    return min(block_cap, math.ceil(capacity / 2) if not math.isinf(capacity) else 1)


def direction_place_limits(
    lane_map: LaneMap,
    capacity: Mapping[str, float],
    single: Iterable[str],
    stands: Iterable[tuple[str, Direction]],
    caps: Mapping[str, int],
    arrive_via: Mapping[tuple[str, Direction], str] | None = None,
) -> dict[tuple[str, Direction], float]:
    """How many places each direction may hold at each node: all but those the other
    direction needs there, and at least one. The other direction needs one place, so that
    neither can shut the other out; or :func:`platoon_places` where it comes out of a
    single-lane block and must stand at the node.

    Args:
        capacity: :func:`standing_capacity` per node id.
        single: ids of the single-lane segments.
        stands: ``(node, direction)`` pairs where a truck of that direction must stand on
            arrival (a service there, or the border point).
        caps: :func:`platoon_cap` per single-lane segment id.
        arrive_via: :func:`arrival_segments` (worked out from the map when None).

    Returns:
        ``(node, direction) -> places`` (a float; infinite at unbounded nodes).
    """
    via = arrival_segments(lane_map) if arrive_via is None else arrive_via
    blocks = set(single)
    standing = set(stands)
    limits: dict[tuple[str, Direction], float] = {}
    for node, cap in capacity.items():
        for d in Direction:
            other = opposite(d)
            seg = via.get((node, other))
            need = 1
            if seg is not None and seg in blocks and (node, other) in standing:
                need = platoon_places(cap, caps[seg])
            limits[(node, d)] = max(1.0, cap - need)
    return limits


def dwell_stands(lane_map: LaneMap) -> set[tuple[str, Direction]]:
    """``(node, direction)`` pairs where a truck of that direction stops for a service on the
    lane (a station of a :data:`DWELL_KINDS` kind serving that direction)."""
    return {
        (st.node, d) for st in lane_map.stations if st.kind in DWELL_KINDS for d in st.directions
    }


def lane_room(
    lane_map: LaneMap, segment_id: str, vehicle_length_m: float, length_m: float | None = None
) -> int:
    """Trucks of one direction that fit in a segment at once, queued nose to tail at the
    standstill gap: ``lanes_per_direction * (floor(length_m / (vehicle_length_m +
    standstill_gap_m)) + 1)`` (at least one lane); ``length_m`` defaults to the segment's
    (a part of a segment cut at stop lines counts the whole segment's)."""
    seg = lane_map.segment(segment_id)
    spacing_m = vehicle_length_m + lane_map.following_for(seg).standstill_gap_m
    length_m = seg.length_m if length_m is None else length_m
    return (int(length_m // spacing_m) + 1) * max(1, seg.lanes_per_direction)


def following_headway_s(
    lane_map: LaneMap,
    segment_id: str,
    vehicle_length_m: float,
    speed_mps: float,
    time_gap_s: float | None = None,
) -> float:
    """Seconds between same-direction entries into a segment: the following rule's gap
    (``(vehicle_length_m + standstill_gap_m) / speed_mps + time_gap_s``, the rule's time gap
    unless ``time_gap_s`` is given, e.g. in fog), shared by the lanes of one direction of a
    two-way segment (one lane on a single-lane block)."""
    seg = lane_map.segment(segment_id)
    rule = lane_map.following_for(seg)
    gap_s = rule.time_gap_s if time_gap_s is None else time_gap_s
    single = seg.lane_mode is LaneMode.SINGLE_ALTERNATING
    lanes = 1 if single else max(1, seg.lanes_per_direction)
    return ((vehicle_length_m + rule.standstill_gap_m) / speed_mps + gap_s) / lanes
