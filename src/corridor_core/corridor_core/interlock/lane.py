"""The lane's interlock: may a truck enter a segment now?

:class:`LaneInterlock` keeps what the interlock knows of the lane (who is inside each segment,
the last entry and exit per segment and direction, the places at nodes, the block signals) and
answers the block-entry question from it. A driver (the simulator, the fleet controller) tells
it what happened (:meth:`~LaneInterlock.entered`, :meth:`~LaneInterlock.exited`) and asks
(:meth:`~LaneInterlock.may_enter`). The facts it cannot know (the following headway now, whether
the truck may roll on through the node at the far end) come in as arguments.

The rules (the deadlock arguments rest on them):

- single-lane blocks: a truck enters only with a place at the far end or a way on (it must
  not stop inside the block); with no opposite-direction truck inside or holding a claim;
  when the block signal allows it (a direction keeps the block while the other has nobody
  waiting, and for at most the platoon cap in a row when it has; ``fifo``: one truck at a
  time); and ``all_clear_s`` after the last opposite-direction truck left;
- every segment: at most :func:`~corridor_core.interlock.limits.lane_room` trucks of one
  direction inside, and same-direction entries at least the following headway apart;
- through a passing bay (out of one block into the next, without standing) a truck may claim
  the next block and a place beyond it when it enters the first.

Times are seconds on the driver's clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from corridor_core.interlock.limits import (
    dwell_stands,
    lane_room,
    opposite,
)
from corridor_core.interlock.places import Places
from corridor_core.interlock.signals import BlockSignals
from corridor_core.interlock.stop_lines import parent_segment
from corridor_core.lane_map import LaneMap, LaneMode, NodeKind
from corridor_core.runs import Direction

StillAsking = Callable[[str, str], bool]
"""``still_asking(truck, segment)``: is the truck still standing with ``segment`` next? (Asks
of trucks that are not are dropped by the block signals.)"""

HEADWAY_TOLERANCE_S = 1e-9


class LaneInterlock:
    """The interlock's view of one corridor, and its block-entry rule.

    Args:
        lane_map: the corridor.
        vehicle_length_m: the trucks' length (for the room in each segment).
    """

    def __init__(self, lane_map: LaneMap, vehicle_length_m: float) -> None:
        self.lane_map = lane_map
        self.single: set[str] = {
            s.segment_id for s in lane_map.segments if s.lane_mode is LaneMode.SINGLE_ALTERNATING
        }
        self.border: set[str] = {
            n.node_id for n in lane_map.nodes if n.kind is NodeKind.BORDER_POINT
        }
        self.yards: set[str] = {n.node_id for n in lane_map.nodes if n.kind is NodeKind.YARD}
        self.dwell_at = dwell_stands(lane_map)
        stands = self.dwell_at | {(b, d) for b in self.border for d in Direction}
        self.places = Places(lane_map, self.single, stands)
        self.signals = BlockSignals(self.single)
        self.all_clear_s = {s.segment_id: s.all_clear_s for s in lane_map.segments}
        # a part of a segment cut at its stop lines has the whole lane's room: the trucks
        # released into it queue back along the segment (see interlock.stop_lines)
        whole_m: dict[str, float] = {}
        for s in lane_map.segments:
            whole_m[parent_segment(s.segment_id)] = (
                whole_m.get(parent_segment(s.segment_id), 0.0) + s.length_m
            )
        self.room = {
            s.segment_id: lane_room(
                lane_map, s.segment_id, vehicle_length_m, whole_m[parent_segment(s.segment_id)]
            )
            for s in lane_map.segments
        }
        # truck -> direction, per segment: who is inside now
        self.inside: dict[str, dict[str, Direction]] = {s.segment_id: {} for s in lane_map.segments}
        self.last_exit_s: dict[tuple[str, Direction], float] = {}
        self.last_entry_s: dict[tuple[str, Direction], float] = {}

    def set_platoon_caps(self, caps: Mapping[str, int]) -> None:
        """The platoon cap of every single-lane block: the signals hold phases to it and the
        places keep room for such platoons."""
        self.signals.set_caps(caps)
        self.places.set_platoon_caps(caps)

    # --- the rules ------------------------------------------------------------------------
    def must_stand(self, node: str, d: Direction) -> bool:
        """Does a truck of direction ``d`` stop at ``node`` whatever the traffic? At a yard,
        at the border point, and where a station serves its direction."""
        return node in self.border or node in self.yards or (node, d) in self.dwell_at

    def may_stop_between(self, node: str, d: Direction, before: str, after: str) -> bool:
        """May a truck of direction ``d`` stop at ``node``, reached by segment ``before`` and
        left by segment ``after``? Not where both are single-lane blocks and the node cannot
        hold one truck of each direction (fewer than two places) while it need not stand
        there: stopped there, it could face a truck standing at the far end of the next block
        and neither could move. It passes such a node without stopping (its release reaches
        beyond), or waits before the first block."""
        if self.must_stand(node, d) or before not in self.single or after not in self.single:
            return True
        return self.places.capacity[node] >= 2

    def block_free_for(self, seg: str, d: Direction, truck: str) -> bool:
        """No opposite-direction truck inside the block or holding a claim on it."""
        return self.signals.free_for(seg, d, truck, self.inside[seg])

    def signal_allows(self, seg: str, d: Direction, truck: str, still_asking: StillAsking) -> bool:
        """The block signal lets ``truck`` in now (see :class:`BlockSignals`)."""
        return self.signals.allows(seg, d, truck, self.inside[seg], still_asking)

    def may_roll_through(
        self,
        truck: str,
        d: Direction,
        node: str,
        before: str | None,
        after: str,
        far_node: str,
        still_asking: StillAsking,
    ) -> bool:
        """May the truck roll through ``node`` (reached by segment ``before``, None at its
        first stop) onto segment ``after`` without standing, as far as the lane is concerned?

        Not where it must stand (:meth:`must_stand`). Onto a two-way segment always (it can
        queue in its own lane). Onto a single-lane block only out of the block before it (a
        passing bay), and only if it may claim the block now: free for its direction, the
        signal allows it, and a place at ``far_node`` (the block's far end).
        """
        if self.must_stand(node, d):
            return False
        if after not in self.single:
            return True
        if before is None or before not in self.single:
            return False  # only a block's claim reaches into the next block (a passing bay)
        return (
            self.block_free_for(after, d, truck)
            and self.signal_allows(after, d, truck, still_asking)
            and self.places.has_place(truck, far_node, d)
        )

    def may_enter(
        self,
        truck: str,
        seg: str,
        d: Direction,
        now_s: float,
        far_node: str,
        headway_s: float,
        way_on: Callable[[], bool],
        still_asking: StillAsking,
    ) -> tuple[bool, float | None]:
        """May ``truck`` (direction ``d``) enter segment ``seg`` now?

        Args:
            far_node: the node at the segment's other end.
            headway_s: the following headway on ``seg`` now (s).
            way_on: does the truck roll through ``far_node`` into the next block (asked only
                when it has no place there, and only for a single-lane ``seg``)?
            still_asking: see :data:`StillAsking`.

        Returns:
            ``(True, None)``: it may. ``(False, t)``: not before ``t`` (an all-clear gap or the
            headway); ask again then. ``(False, None)``: not until something changes on the
            lane. A truck that waits only for the block (it has a place) leaves an ask with
            the signal, so the other direction's phase ends at the cap.
        """
        if seg in self.single:
            if not self.places.has_place(truck, far_node, d) and not way_on():
                # it must not stop inside the block: a place, or a way on. Until it has one it
                # does not ask for the block either: a truck that cannot go must not stop the
                # other direction (whose going may be what frees its place)
                return False, None
            self.signals.ask(seg, truck, d)  # dropped when it enters (or goes stale)
            if not self.block_free_for(seg, d, truck):
                return False, None
            if not self.signal_allows(seg, d, truck, still_asking):
                return False, None
            clear_at = self.last_exit_s.get((seg, opposite(d)), -math.inf) + self.all_clear_s[seg]
            if now_s < clear_at:
                return False, clear_at
        same_way = list(self.inside[seg].values()).count(d)  # (directions: by identity)
        if same_way >= self.room[seg]:
            return False, None  # the lane is full of trucks queued behind a stopped one
        ready = self.last_entry_s.get((seg, d), -math.inf) + headway_s
        if now_s < ready - HEADWAY_TOLERANCE_S:
            return False, ready
        return True, None

    # --- what happened --------------------------------------------------------------------
    def entered(self, truck: str, seg: str, d: Direction, now_s: float, from_node: str) -> None:
        """The truck left ``from_node`` into ``seg``: it gives its place there back, its claims
        end (a claim on ``seg`` counted in the phase when it was granted; otherwise the entry
        counts now) and its ask is done."""
        self.last_entry_s[(seg, d)] = now_s
        self.inside[seg][truck] = d
        self.places.leave(truck, from_node)
        claimed = self.signals.has_claim(seg, truck)
        self.signals.drop_claims(truck)
        if seg in self.single:
            self.signals.withdraw(seg, truck)
            if not claimed:
                self.signals.count_entry(seg, d)

    def claim_through(self, truck: str, block: str, far_node: str, d: Direction) -> None:
        """The truck will roll into ``block`` through the passing bay ahead: the block is its
        direction's (a claim) and a place at ``far_node`` is its own from now on."""
        self.signals.claim(block, truck, d)
        self.places.take(truck, far_node, d)

    def exited(self, truck: str, seg: str, d: Direction, now_s: float) -> None:
        """The truck left ``seg`` (it arrived at the node at the end)."""
        self.inside[seg].pop(truck, None)
        self.last_exit_s[(seg, d)] = now_s
