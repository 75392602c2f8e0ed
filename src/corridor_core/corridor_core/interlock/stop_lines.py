"""Stop lines: where a truck waits in its own lane before a node it may not enter yet.

A VDA 5050 truck stops at the last node released to it. On a two-way segment a truck that has
no place at the node ahead may still drive on and wait at the end of its lane, behind the
trucks already waiting there (the simulator's engine lets it); to say so in an order, the
controller needs a node there. :func:`with_stop_lines` gives the controller's view of a map
with those nodes: each two-way segment ending at a node of bounded capacity gets, for the
direction that arrives there, a stop line :data:`STOP_LINE_BEFORE_M` before that node, as a
node of its own whose places are the lane's room (the queue). The segment is cut into parts at
its stop lines; a part keeps the segment's mode, speed and following rule, and its id names
the segment (``S3:1``, ``S3:2``...), as a stop line's names the segment and the node it waits
for (``S3:stop:B0``), so everything the trucks report can be read back on the real map
(:func:`parent_segment`).

Trucks queued at a stop line stand in the running lane: a truck of the same direction never
rolls past one (see :meth:`~corridor_core.interlock.grants.Grants.blocker`), and they leave in
the order they came.
"""

from __future__ import annotations

import dataclasses
import math

from corridor_core.interlock.limits import lane_room, standing_capacity
from corridor_core.lane_map import LaneMap, LaneMode, MapNode, NodeKind, Segment

STOP_LINE_BEFORE_M = 25.0  # a stop line lies this far before the node it waits for
STOP = ":stop:"
PART = ":"


def stop_line_id(segment_id: str, node_id: str) -> str:
    """The id of the stop line on ``segment_id`` before ``node_id``."""
    return f"{segment_id}{STOP}{node_id}"


def is_stop_line(node_id: str) -> bool:
    """Is ``node_id`` a stop line's (of :func:`with_stop_lines`)?"""
    return STOP in node_id


def parent_segment(part_or_node_id: str) -> str:
    """The real segment a segment part or a stop line belongs to (the id itself otherwise)."""
    return part_or_node_id.split(PART, 1)[0]


def _queue_slots(lane_map: LaneMap, seg: Segment, vehicle_length_m: float) -> int:
    """Trucks of one direction that can wait in the segment's lane before its end: its room
    less one (the truck rolling in behind them)."""
    return lane_room(lane_map, seg.segment_id, vehicle_length_m) - 1


def with_stop_lines(lane_map: LaneMap) -> LaneMap:
    """``lane_map`` with a stop line before every bounded node a two-way segment leads to, where
    the segment is long enough (room for two trucks or more in the lane, and
    :data:`STOP_LINE_BEFORE_M` to spare at each end); the map itself when none fits."""
    vehicle = lane_map.vehicle_class()
    nodes = list(lane_map.nodes)
    segments: list[Segment] = []
    changed = False
    for seg in lane_map.segments:
        if seg.lane_mode is not LaneMode.TWO_WAY_DUAL:
            segments.append(seg)
            continue
        slots = _queue_slots(lane_map, seg, vehicle.length_m)
        a, b = lane_map.node(seg.from_node), lane_map.node(seg.to_node)
        lines: list[tuple[float, MapNode]] = []  # (chainage from ``a`` in metres, node)
        for end, at_m in ((a, STOP_LINE_BEFORE_M), (b, seg.length_m - STOP_LINE_BEFORE_M)):
            bounded = not math.isinf(standing_capacity(lane_map, end.node_id))
            if bounded and slots >= 1 and seg.length_m >= 3 * STOP_LINE_BEFORE_M:
                f = at_m / seg.length_m
                lines.append(
                    (
                        at_m,
                        MapNode(
                            stop_line_id(seg.segment_id, end.node_id),
                            NodeKind.HOLDING_POCKET,
                            end.jurisdiction,
                            a.x_m + f * (b.x_m - a.x_m),
                            a.y_m + f * (b.y_m - a.y_m),
                            holding_slots=slots,
                        ),
                    )
                )
        if not lines:
            segments.append(seg)
            continue
        changed = True
        lines.sort(key=lambda x: x[0])
        nodes.extend(n for _, n in lines)
        cuts = [(0.0, seg.from_node), *((m, n.node_id) for m, n in lines),
                (seg.length_m, seg.to_node)]  # fmt: skip
        for k in range(len(cuts) - 1):
            (m0, n0), (m1, n1) = cuts[k], cuts[k + 1]
            segments.append(
                dataclasses.replace(
                    seg,
                    segment_id=f"{seg.segment_id}{PART}{k + 1}",
                    from_node=n0,
                    to_node=n1,
                    length_m=m1 - m0,
                    capacity_trucks=None,
                )
            )
    if not changed:
        return lane_map
    return dataclasses.replace(lane_map, nodes=tuple(nodes), segments=tuple(segments))
