"""Conversions between ROS messages and core domain objects. No logic beyond mapping."""

from __future__ import annotations

from builtin_interfaces.msg import Time
from corridor_interfaces.msg import (
    ClearanceDecision,
    Manifest,
    PlateRead,
    RunStatus,
    VehicleState,
)
from corridor_interfaces.msg import (
    ContainerRun as ContainerRunMsg,
)

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_core.dispatcher import ClearanceIssued, RunView, VehicleView
from corridor_core.errors import IdentityError
from corridor_core.plates import parse_plate
from corridor_core.runs import ContainerRun, Direction


def run_from_msg(msg: ContainerRunMsg) -> ContainerRun:
    """A ContainerRun from its message; raises ValueError on an unknown direction."""
    try:
        direction = Direction(msg.direction.upper())
    except ValueError as exc:
        raise ValueError(f"direction {msg.direction!r} must be SOUTHBOUND or NORTHBOUND") from exc
    return ContainerRun(
        msg.run_id,
        msg.container_number,
        msg.origin,
        msg.destination,
        direction,
        msg.ready_s,
        msg.due_s,
    )


def run_to_msg(run: ContainerRun) -> ContainerRunMsg:
    """The message of a ContainerRun."""
    return ContainerRunMsg(
        run_id=run.run_id,
        container_number=run.container_number,
        origin=run.origin,
        destination=run.destination,
        direction=run.direction.value,
        ready_s=run.ready_s,
        due_s=run.due_s,
    )


def run_status_msg(view: RunView, stamp: Time) -> RunStatus:
    """RunStatus for a run view."""
    return RunStatus(
        stamp=stamp,
        run_id=view.run_id,
        container_number=view.container_number,
        status=int(view.state),
        status_name=view.state.name,
        vehicle_id=view.vehicle_id,
        order_id=view.order_id,
        last_node_id=view.last_node_id,
        reason=view.reason,
    )


def vehicle_state_msg(view: VehicleView, manufacturer: str, stamp: Time) -> VehicleState:
    """VehicleState for a vehicle view."""
    return VehicleState(
        stamp=stamp,
        vehicle_id=view.vehicle_id,
        manufacturer=manufacturer,
        plate=view.plate,
        connection=view.connection,
        order_id=view.order_id,
        order_update_id=view.order_update_id,
        last_node_id=view.last_node_id,
        driving=view.driving,
        battery_charge_pct=view.battery_charge_pct,
        x_m=view.x_m,
        y_m=view.y_m,
        operating_mode=view.operating_mode,
        errors=list(view.errors),
    )


def clearance_msg(issued: ClearanceIssued, stamp: Time) -> ClearanceDecision:
    """ClearanceDecision for a decision taken by the core."""
    cleared = issued.result.cleared
    return ClearanceDecision(
        stamp=stamp,
        run_id=issued.run_id,
        container_number=issued.container_number,
        vehicle_id=issued.vehicle_id,
        plate=issued.plate,
        decision=ClearanceDecision.CLEARED if cleared else ClearanceDecision.HELD,
        decision_name="CLEARED" if cleared else "HELD",
        reasons=list(issued.result.reasons),
    )


def plate_read_msg(obs: PlateObservation, checkpoint_id: str, stamp: Time) -> PlateRead:
    """PlateRead for a checkpoint observation."""
    try:
        plate = parse_plate(obs.plate)
        normalized, country = plate.normalized, plate.country.value
    except IdentityError:
        normalized, country = "", ""
    return PlateRead(
        stamp=stamp,
        source_time=stamp,
        checkpoint_id=checkpoint_id,
        lane_id=obs.lane_id,
        transaction_id=obs.transaction_id,
        event_id=obs.transaction_id,
        plate_raw=obs.plate,
        plate_normalized=normalized,
        country=country,
        confidence=obs.confidence,
    )


def observation_from_msg(msg: PlateRead) -> PlateObservation:
    """The core's view of a PlateRead."""
    return PlateObservation(
        plate=msg.plate_raw,
        lane_id=msg.lane_id,
        transaction_id=msg.transaction_id,
        confidence=msg.confidence,
    )


def manifest_msg(record: ManifestRecord, checkpoint_id: str, stamp: Time) -> Manifest:
    """Manifest message for a record."""
    return Manifest(
        stamp=stamp,
        checkpoint_id=checkpoint_id,
        declaration_number=record.declaration_number,
        container_number=record.container_number,
        plate=record.plate,
        customs_status=record.customs_status,
        channel=record.channel,
        seal_ids=list(record.seal_ids),
    )


def manifest_from_msg(msg: Manifest) -> ManifestRecord:
    """The core's view of a Manifest message."""
    return ManifestRecord(
        msg.declaration_number,
        msg.container_number,
        msg.plate,
        msg.customs_status,
        msg.channel,
        tuple(msg.seal_ids),
    )
