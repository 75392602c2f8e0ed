"""A run submitted again, identical, is an idempotent success: a lost answer may be retried.

The loop re-sends a SubmitRun whose answer did not come within its timeout; the first request
may have been applied and only its answer lost. The controller must then answer "accepted" and
change nothing, while a different run under a taken id is still refused.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from corridor_core.dispatcher import Dispatcher
from corridor_core.fleet import Fleet, Truck
from corridor_core.fleet_controller import FleetController
from corridor_core.iso6346 import with_check_digit
from corridor_core.map_io import load_map
from corridor_core.runs import ContainerRun, Direction

ROOT = Path(__file__).resolve().parents[3]
MAP = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")


FLEET = Fleet("M", (Truck("T01", "桂F·D3101", "Z-CN"),))
RUN = ContainerRun("R-1", with_check_digit("CSQU305438"), "Z-CN", "Z-VN", Direction.SOUTHBOUND)


def test_an_identical_resubmission_is_accepted_and_changes_nothing() -> None:
    ctl = FleetController(MAP, FLEET)
    run = RUN
    accepted, _, commands = ctl.submit(run, 0.0)
    assert accepted and commands
    before = ctl.runs()

    again, message, commands = ctl.submit(run, 1.0)
    assert (again, commands) == (True, [])
    assert "already accepted" in message
    assert ctl.runs() == before

    other = replace(run, destination="Z-CN", origin="Z-VN", direction=Direction.NORTHBOUND)
    refused, message, _ = ctl.submit(other, 2.0)
    assert not refused and "already exists" in message
    assert ctl.runs() == before


def test_the_skeleton_dispatcher_answers_a_resubmission_the_same_way() -> None:
    core = Dispatcher(MAP, FLEET)
    spaced = replace(RUN, container_number="csqu 305438-" + RUN.container_number[-1])
    assert core.submit(spaced)[0]
    before = core.runs()
    assert core.submit(spaced)[:2] == (True, "already accepted (identical re-submission)")
    assert core.submit(RUN)[:2] == (True, "already accepted (identical re-submission)")
    refused, message, _ = core.submit(replace(RUN, destination="Z-CN"))
    assert not refused and "already exists" in message
    assert core.runs() == before
