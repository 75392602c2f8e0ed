"""Every run the loop submits reaches the vehicle bridge, even in a burst right at start-up.

The real stack (mosquitto, the vehicle-bridge node with its planner, emulated trucks, the
checkpoint) in separate processes; the loop's own driver submits through ``submit_due``, the
code ``corridor run`` uses. Two bursts of 30 runs, each due at once:

1. just after the processes start, before the bridge's ``SubmitRun`` service exists (a request
   sent then is dropped);
2. once the service is long discovered, as ``corridor run``'s backlog is: more requests than
   the service queue holds (ROS 2 default, KEEP_LAST 10) overwrite each other while the bridge
   plans the first.

Every run must show up on ``/corridor/runs/status`` and be counted accepted. Before the fix, the
first burst was lost entirely and the second lost about 20 of 30.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import rclpy

from corridor_core.iso6346 import with_check_digit
from corridor_core.runs import ContainerRun, Direction
from corridor_nodes.loop import Arrival, LoopDriver
from corridor_nodes.scenario import PlannedRun, Timeline
from corridor_nodes.stack import Stack

ROOT = Path(__file__).resolve().parents[3]
SCALE = 50.0
pytestmark = pytest.mark.e2e

FLEET = """manufacturer: CorridorSim
trucks:
  - {serial: T01, plate: "桂F·D3101", home_node: Z-CN}
  - {serial: T02, plate: "桂F·D3102", home_node: Z-VN}
"""


def _burst(first: int, count: int) -> list[Arrival]:
    """``count`` runs, alternating directions, all due at once."""
    out = []
    for i in range(first, first + count):
        south = i % 2 == 0
        run = ContainerRun(
            f"B-{i:03d}",
            with_check_digit(f"TEXU{100000 + i:06d}"),
            "Z-CN" if south else "Z-VN",
            "Z-VN" if south else "Z-CN",
            Direction.SOUTHBOUND if south else Direction.NORTHBOUND,
        )
        out.append(Arrival(0.0, PlannedRun(run)))
    return out


def _spin_until_seen(driver: LoopDriver, run_ids: set[str], timeout_s: float) -> set[str]:
    """Spin the loop's way (spin once, submit what is due) until every run has a status."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not run_ids <= set(driver.status):
        rclpy.spin_once(driver, timeout_sec=0.02)
        driver.submit_due()
    return run_ids - set(driver.status)


def test_a_burst_of_runs_at_start_up_all_reach_the_bridge(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    stack = Stack(
        ROOT / "maps" / "tan-thanh-puzhai-2027.yaml", fleet, tmp_path / "run", SCALE,
        controller_node="vehicle_bridge",
    )  # fmt: skip
    stack.start()
    rclpy.init(domain_id=stack.domain_id)
    first = _burst(1, 30)
    driver = LoopDriver(stack, Timeline(time.monotonic(), SCALE, echo=lambda line: None), first)
    try:
        # 1. at once: the bridge's process is still starting
        missing = _spin_until_seen(driver, {a.planned.run.run_id for a in first}, 60)
        assert not missing, f"{len(missing)} of 30 runs never reached the bridge: {sorted(missing)}"

        # 2. a backlog due at once, the service discovered long ago
        second = _burst(31, 30)
        driver.schedule.extend(second)
        missing = _spin_until_seen(driver, {a.planned.run.run_id for a in second}, 60)
        assert not missing, f"{len(missing)} of 30 runs never reached the bridge: {sorted(missing)}"

        deadline = time.monotonic() + 10
        while not driver.submitter.idle() and time.monotonic() < deadline:
            rclpy.spin_once(driver, timeout_sec=0.02)
            driver.submit_due()
        assert driver.submitter.summary() == "60 accepted, 0 rejected, 0 unanswered"
        assert all(a.attempts == 1 for a in driver.submitter.answers.values())
        assert driver.summary(1.0)[0].endswith(": 60 accepted, 0 rejected, 0 unanswered")
    finally:
        driver.destroy_node()
        rclpy.try_shutdown()
        stack.stop()
