"""Clearance: no clearance, no crossing.

A run is cleared only when every rule holds: the container number passes ISO 6346, customs has
released its manifest, the plate the checkpoint read is the plate the manifest declares, and it
is the plate of the truck assigned to the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor_core import iso6346
from corridor_core.plates import same_plate


@dataclass(frozen=True)
class ManifestRecord:
    """Customs data for one container, as the checkpoint system posts it."""

    declaration_number: str
    container_number: str
    plate: str
    customs_status: str  # RELEASED, PENDING, HOLD, INSPECTION or REJECTED
    channel: str = "UNKNOWN"  # GREEN, YELLOW, RED or UNKNOWN
    seal_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlateObservation:
    """A plate read at a checkpoint lane."""

    plate: str
    lane_id: str
    transaction_id: str
    confidence: float = 1.0


@dataclass(frozen=True)
class ClearanceResult:
    """The decision and, when held, every rule that failed."""

    cleared: bool
    reasons: tuple[str, ...]


def decide(
    container_number: str,
    truck_plate: str,
    observation: PlateObservation,
    manifest: ManifestRecord | None,
) -> ClearanceResult:
    """Decide whether the container may cross on the truck whose plate was observed.

    Args:
        container_number: the run's container.
        truck_plate: plate of the truck the run is assigned to.
        observation: the plate read at the checkpoint.
        manifest: customs data for the container, or None when none has been posted.
    """
    reasons: list[str] = []
    check = iso6346.validate(container_number)
    if not check.valid:
        reasons.append(check.reason)
    if manifest is None:
        reasons.append(f"no manifest for container {container_number}")
    else:
        if manifest.customs_status != "RELEASED":
            reasons.append(
                f"customs status of {manifest.declaration_number} is {manifest.customs_status}"
            )
        if not same_plate(observation.plate, manifest.plate):
            reasons.append(
                f"plate read {observation.plate!r} does not match manifest plate {manifest.plate!r}"
            )
    if not same_plate(observation.plate, truck_plate):
        reasons.append(
            f"plate read {observation.plate!r} is not the assigned truck's plate {truck_plate!r}"
        )
    return ClearanceResult(cleared=not reasons, reasons=tuple(reasons))
