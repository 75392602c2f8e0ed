"""Container runs: what the operator asks the corridor to carry, and their life cycle."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class Direction(Enum):
    """Travel direction across the border."""

    SOUTHBOUND = "SOUTHBOUND"  # CN -> VN
    NORTHBOUND = "NORTHBOUND"  # VN -> CN

    # Members are singletons compared by identity: hash them by identity too (C speed; the
    # inherited Enum hash is a Python call, and directions key the hot lookups)
    __hash__ = object.__hash__


class RunState(IntEnum):
    """Life cycle of a run; values equal the constants of ``corridor_interfaces/RunStatus``."""

    SUBMITTED = 0
    ASSIGNED = 1
    CLEARED = 2
    HELD = 3
    DISPATCHED = 4
    IN_PROGRESS = 5
    COMPLETED = 6
    CANCELLED = 7
    FAILED = 8

    @property
    def final(self) -> bool:
        """True for states a run never leaves."""
        return self in (RunState.COMPLETED, RunState.CANCELLED, RunState.FAILED, RunState.HELD)


@dataclass(frozen=True)
class ContainerRun:
    """One container to carry from ``origin`` yard to ``destination`` yard.

    Attributes:
        run_id: unique id chosen by the operator.
        container_number: ISO 6346 number.
        origin: map node id of the origin yard.
        destination: map node id of the destination yard.
        direction: travel direction across the border.
        ready_s: corridor time (s) from which the run may start.
        due_s: corridor time (s) by which it should be delivered; 0 means no deadline.
    """

    run_id: str
    container_number: str
    origin: str
    destination: str
    direction: Direction
    ready_s: float = 0.0
    due_s: float = 0.0
