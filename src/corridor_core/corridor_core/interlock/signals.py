"""The signals of the single-lane blocks: claims, requests and phases.

Bookkeeping only: no clock, no events. A block's signal keeps the block for one direction
while the other has nobody waiting, and for at most the platoon cap
(:func:`~corridor_core.interlock.limits.platoon_cap`) of trucks in a row when it has. A claim
(a truck that will roll into the block from the block before it, through a passing bay) keeps
the block for its direction like a truck inside, and counts in the phase when it is granted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from corridor_core.runs import Direction


class BlockSignals:
    """The signals of the single-lane blocks: claims, requests and phases.

    Args:
        single: ids of the single-lane segments.
    """

    def __init__(self, single: Iterable[str]) -> None:
        blocks = sorted(single)
        # trucks that will roll into the block from the block before it
        self.claims: dict[str, dict[str, Direction]] = {s: {} for s in blocks}
        # trucks asking to enter, kept until they enter or go stale
        self.requests: dict[str, dict[str, Direction]] = {s: {} for s in blocks}
        # (direction, entries since the direction last changed)
        self.phase: dict[str, tuple[Direction | None, int]] = {s: (None, 0) for s in blocks}
        self.cap: dict[str, int] = {s: 1 for s in blocks}

    def set_caps(self, caps: Mapping[str, int]) -> None:
        """The platoon cap of each block (a phase past a new cap ends at the next ask)."""
        self.cap.update(caps)

    def free_for(self, seg: str, d: Direction, truck: str, inside: Mapping[str, Direction]) -> bool:
        """No opposite-direction truck inside the block (``inside``: truck -> direction) or
        holding a claim on it."""
        if list(inside.values()).count(d) != len(inside):  # (directions: by identity)
            return False
        claims = self.claims[seg]
        return not claims or all(x is d or t == truck for t, x in claims.items())

    def allows(
        self,
        seg: str,
        d: Direction,
        truck: str,
        inside: Mapping[str, Direction],
        still_asking: Callable[[str, str], bool],
    ) -> bool:
        """Does the signal let ``truck`` (direction ``d``) in now? A claim holder always; with
        a cap of one (``fifo``) only into an empty, unclaimed block; otherwise while its
        direction's phase is under the cap or nobody of the other direction still asks
        (``still_asking(truck, seg)`` drops stale asks)."""
        if truck in self.claims[seg]:
            return True
        cap = self.cap[seg]
        if cap == 1 and (inside or any(t != truck for t in self.claims[seg])):
            return False
        direction, entries = self.phase[seg]
        if direction is not d or entries < cap:
            return True
        return not self.others_waiting(seg, d, still_asking)

    def others_waiting(
        self, seg: str, d: Direction, still_asking: Callable[[str, str], bool]
    ) -> bool:
        """Is a truck of the other direction asking to enter ``seg``? Stale asks are dropped."""
        asks = self.requests[seg]
        for truck, x in list(asks.items()):
            if x is d:
                continue
            if not still_asking(truck, seg):
                del asks[truck]
                continue
            return True
        return False

    def ask(self, seg: str, truck: str, d: Direction) -> None:
        """The truck asks to enter ``seg``."""
        self.requests[seg][truck] = d

    def withdraw(self, seg: str, truck: str) -> None:
        """The truck no longer asks (it entered, or something else holds it back)."""
        self.requests[seg].pop(truck, None)

    def count_entry(self, seg: str, d: Direction) -> None:
        """One more truck of direction ``d`` let into ``seg``: the phase goes on or turns."""
        direction, entries = self.phase[seg]
        self.phase[seg] = (d, entries + 1 if direction is d else 1)

    def claim(self, seg: str, truck: str, d: Direction) -> None:
        """The truck will roll into ``seg`` from the block before it; it counts in the phase
        now, when it is let in."""
        self.claims[seg][truck] = d
        self.count_entry(seg, d)

    def has_claim(self, seg: str, truck: str) -> bool:
        """The truck holds a claim on ``seg``."""
        return truck in self.claims.get(seg, {})

    def drop_claims(self, truck: str) -> None:
        """The truck's claims end (it entered the block, or left the lane)."""
        for claims in self.claims.values():
            claims.pop(truck, None)
