"""The deployed stack obeys the agreement, end to end: a window that closes mid-run.

The whole stack in separate processes (mosquitto with per-truck accounts, the emulated
checkpoint over OPC UA, the checkpoint bridge, the vehicle bridge with the planner, emulated
trucks, the ``/clock`` process) on one accelerated clock. The vehicle bridge reads an agreement
written here whose only window's last entry falls 30 simulated minutes after clock 0. Runs in
both directions are submitted as soon as the trucks are up, more than the window can carry, and
a few more three minutes before the last entry, too late to reach km 0 by it (before the fix
their trucks drove out onto the lane anyway and stood there through the close). Customs never
sends the manifest of one run: its truck waits at the gate until it can no longer make the
last entry, then turns back to its yard.

Judged only from what the trucks reported on the broker (the recorder), on the stack's clock:
no truck reaches the border point B0 after the last entry, and at the close (the last entry
plus the agreement's margin for clearing the lane) every truck stands in a yard.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import rclpy

from corridor_core.iso6346 import with_check_digit
from corridor_core.runs import ContainerRun, Direction
from corridor_links.mosquitto import CONTROLLER_USER
from corridor_links.recorder import MqttRecorder, read_records
from corridor_nodes.loop import Arrival, LoopDriver
from corridor_nodes.scenario import PlannedRun, Timeline
from corridor_nodes.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
SCALE = 100.0
pytestmark = pytest.mark.e2e
START = dt.datetime.fromisoformat("2027-03-02T06:00:00+07:00")
LAST_ENTRY_S = 30 * 60.0  # 06:30 ICT
CLOSE_S = 40 * 60.0  # 06:40 ICT: 10 minutes to clear the lane
YARDS = {"Z-CN", "Z-VN"}

AGREEMENT = """name: e2e-short-window
version: 1
time_zone: Asia/Ho_Chi_Minh
valid_from: 2027-01-01
valid_until: 2027-12-31
max_trucks_on_lane: 24
corridor_empty_at_close: true
windows:
  - id: morning
    directions: [SOUTHBOUND, NORTHBOUND]
    time_zone: Asia/Ho_Chi_Minh
    open: "05:00"
    close: "06:40"
    last_entry_margin_min: 10
sign_off:
  - {party: VN, authority: test, signed_by: "", signed_on: null}
  - {party: CN, authority: test, signed_by: "", signed_on: null}
"""

FLEET = """manufacturer: CorridorSim
trucks:
  - {serial: T01, plate: "桂F·D3101", home_node: Z-CN}
  - {serial: T02, plate: "桂F·D3102", home_node: Z-CN}
  - {serial: T03, plate: "桂F·D3103", home_node: Z-CN}
  - {serial: T04, plate: "桂F·D3104", home_node: Z-VN}
  - {serial: T05, plate: "桂F·D3105", home_node: Z-VN}
  - {serial: T06, plate: "桂F·D3106", home_node: Z-VN}
"""


SILENT_CUSTOMS = "W-002"  # customs never sends its manifest: its truck must turn back


def _runs(first: int, n: int, at_s: float) -> list[Arrival]:
    out = []
    for i in range(first, first + n):
        south = i % 2 == 1
        number = with_check_digit(f"TEXU{400000 + i:06d}")
        origin, dest = ("Z-CN", "Z-VN") if south else ("Z-VN", "Z-CN")
        direction = Direction.SOUTHBOUND if south else Direction.NORTHBOUND
        run = ContainerRun(f"W-{i:03d}", number, origin, dest, direction)
        out.append(Arrival(at_s, PlannedRun(run, manifest=run.run_id != SILENT_CUSTOMS)))
    return out


def test_window_closing_mid_run_no_km0_after_last_entry_and_the_lane_empty_at_close(
    tmp_path: Path,
) -> None:
    agreement = tmp_path / "agreement.yaml"
    agreement.write_text(AGREEMENT)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    stack = Stack(
        ROOT / "maps" / "tan-thanh-puzhai-2027.yaml", fleet, tmp_path / "run", SCALE,
        controller_node="vehicle_bridge", agreement_path=agreement, start_time=START,
    )  # fmt: skip
    stack.start()
    assert stack.broker is not None and stack.clock is not None
    recorder = MqttRecorder(
        "127.0.0.1",
        stack.broker.port,
        CONTROLLER_USER,
        stack.broker.passwords[CONTROLLER_USER],
        tmp_path / "mqtt.jsonl",
    )
    recorder.start()
    rclpy.init(domain_id=stack.domain_id)
    lines: list[str] = []
    driver = LoopDriver(stack, Timeline(time.monotonic(), SCALE, echo=lines.append), [])
    try:
        driver.wait_for_checkpoint(30)
        driver.wait_trucks_online(30)
        driver.restart_clock()
        assert stack.clock.sim_s() < LAST_ENTRY_S - 15 * 60, "the stack took too long to start"
        late_s = LAST_ENTRY_S - 180.0 - driver.ready_s  # on the workload's time
        driver.schedule = _runs(1, 12, 0.0) + _runs(13, 6, late_s)
        driver.run_for((CLOSE_S + 120.0 - driver.ready_s) / 60.0)
    finally:
        driver.destroy_node()
        rclpy.try_shutdown()
        recorder.stop()
        codes = stack.stop()
    assert codes.get("vehicle_bridge") == 0, stack.run_dir

    clock = stack.clock
    states = [
        (clock.sim_s(r["t"]), r["payload"])
        for r in read_records(tmp_path / "mqtt.jsonl")
        if r["topic"].endswith("/state") and isinstance(r["payload"], dict)
    ]
    tolerance_s = 0.1 * SCALE  # the broker's and the recorder's latency, on the clock
    at_km0 = [(t, p["serialNumber"]) for t, p in states if p.get("lastNodeId") == "B0"]
    crossings = {}
    for t, serial in at_km0:  # first report at B0 of each visit
        crossings.setdefault(serial, []).append(t)
    assert at_km0, "no truck crossed at all: the test says nothing"
    late = [(s, round(t)) for t, s in at_km0 if t > LAST_ENTRY_S + tolerance_s]
    assert late == [], f"at km 0 after the last entry ({LAST_ENTRY_S:.0f} s): {late}"

    last_before_close: dict[str, dict] = {}
    for t, p in states:
        if t <= CLOSE_S + tolerance_s:
            last_before_close[p["serialNumber"]] = p
    on_lane = {
        s: (p.get("lastNodeId"), p.get("driving"))
        for s, p in last_before_close.items()
        if p.get("lastNodeId") not in YARDS or p.get("driving")
    }
    assert on_lane == {}, f"on the lane at the close ({CLOSE_S:.0f} s): {on_lane}"
    assert set(last_before_close) == {f"T0{i}" for i in range(1, 7)}
    # more was asked than the window could carry: some runs wait for the next window
    done = [r for r, m in driver.status.items() if m.status_name == "COMPLETED"]
    assert 0 < len(done) < 18, (len(done), lines[-20:])
    silent = driver.status[SILENT_CUSTOMS]
    assert silent.status_name != "COMPLETED", "a run crossed without a manifest"
