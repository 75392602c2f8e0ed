"""The dispatcher core: assignment, clearance, orders, completion and bad input."""

from pathlib import Path

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_core.dispatcher import (
    ClearanceIssued,
    Dispatcher,
    Problem,
    RunChanged,
    SendOrder,
)
from corridor_core.fleet import load_fleet
from corridor_core.map_io import load_map
from corridor_core.runs import ContainerRun, Direction, RunState
from corridor_core.vda5050 import StateReport, check_order

ROOT = Path(__file__).resolve().parents[3]


def _dispatcher() -> Dispatcher:
    lane_map = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")
    core = Dispatcher(lane_map, load_fleet(ROOT / "config" / "fleet.yaml", lane_map))
    for serial in ("T01", "T02", "T03"):
        core.on_connection(serial, "CorridorSim", "ONLINE")
    return core


def _run(run_id: str, number: str = "CSQU3054383", origin="Z-CN", dest="Z-VN") -> ContainerRun:
    return ContainerRun(run_id, number, origin, dest, Direction.SOUTHBOUND)


def _manifest(number: str, plate: str, status: str = "RELEASED") -> ManifestRecord:
    return ManifestRecord(f"DEC-{number}", number, plate, status, "GREEN")


def _state(serial: str, order_id: str, last: str, pending=(), driving=False) -> StateReport:
    return StateReport(
        "CorridorSim",
        serial,
        1,
        order_id,
        0,
        last,
        0,
        tuple(pending),
        driving,
        100.0,
        0.0,
        0.0,
        "AUTOMATIC",
        (),
    )


def test_cleared_run_gets_a_valid_order_and_completes() -> None:
    core = _dispatcher()
    ok, _, commands = core.submit(_run("R1"))
    assert ok and core.run("R1").state is RunState.ASSIGNED and core.run("R1").vehicle_id == "T01"
    core.on_manifest(_manifest("CSQU3054383", "桂F·D3101"))
    commands = core.on_plate_read(PlateObservation("桂FD3101", "VN-IN-1", "TX1"))
    orders = [c for c in commands if isinstance(c, SendOrder)]
    assert len(orders) == 1 and orders[0].vehicle_id == "T01"
    order = {
        "headerId": 0,
        "timestamp": "t",
        "version": "2.0.0",
        "manufacturer": "CorridorSim",
        "serialNumber": "T01",
        **orders[0].order,
    }
    assert check_order(order) == []
    assert core.run("R1").state is RunState.DISPATCHED
    core.on_state(_state("T01", "R1.1", "B0", pending=("PB", "G-VN", "Z-VN"), driving=True))
    assert core.run("R1").state is RunState.IN_PROGRESS
    core.on_state(_state("T01", "R1.1", "Z-VN"))
    assert core.run("R1").state is RunState.COMPLETED


def test_plate_mismatch_is_held_and_never_ordered() -> None:
    core = _dispatcher()
    core.submit(_run("R1"))
    core.on_manifest(_manifest("CSQU3054383", "桂F·D3999"))
    commands = core.on_plate_read(PlateObservation("桂F·D3101", "VN-IN-1", "TX1"))
    assert not any(isinstance(c, SendOrder) for c in commands)
    decision = next(c for c in commands if isinstance(c, ClearanceIssued))
    assert not decision.result.cleared
    assert core.run("R1").state is RunState.HELD
    assert "does not match manifest plate" in core.run("R1").reason


def test_customs_not_released_is_held() -> None:
    core = _dispatcher()
    core.submit(_run("R1"))
    core.on_plate_read(PlateObservation("桂F·D3101", "VN-IN-1", "TX1"))  # plate first: waits
    assert core.run("R1").state is RunState.ASSIGNED
    core.on_manifest(_manifest("CSQU3054383", "桂F·D3101", status="HOLD"))
    assert core.run("R1").state is RunState.HELD


def test_bad_inputs_become_problems_not_crashes() -> None:
    core = _dispatcher()
    ok, message, _ = core.submit(_run("R1", number="CSQU3054384"))
    assert not ok and "check digit" in message
    assert not core.submit(_run("R2", origin="B0"))[0]
    (problem,) = core.on_manifest(_manifest("CSQU3O54383", "桂F·D3101"))
    assert isinstance(problem, Problem) and "did the reader mean CSQU3054383" in problem.text
    (problem,) = core.on_plate_read(PlateObservation("桂F·77777", "VN-IN-1", "TX9"))
    assert "matches no truck" in problem.text
    (problem,) = core.on_state(_state("T99", "", "Z-CN"))
    assert "unknown truck" in problem.text


def test_northbound_run_waits_for_a_truck_at_its_origin() -> None:
    core = _dispatcher()
    core.submit(ContainerRun("N1", "TGHU7654320", "Z-VN", "Z-CN", Direction.NORTHBOUND))
    assert core.run("N1").state is RunState.SUBMITTED
    core.submit(_run("R1"))
    core.on_manifest(_manifest("CSQU3054383", "桂F·D3101"))
    core.on_plate_read(PlateObservation("桂F·D3101", "VN-IN-1", "TX1"))
    commands = core.on_state(_state("T01", "R1.1", "Z-VN"))
    assert core.run("N1").state is RunState.ASSIGNED and core.run("N1").vehicle_id == "T01"
    assert any(isinstance(c, RunChanged) and c.run.run_id == "N1" for c in commands)
