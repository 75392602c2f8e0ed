"""The loop: the reference scenario driven through the real stack at an accelerated clock.

Runs arrive as the workload preset says (Poisson, seeded) and are submitted over ROS; the
vehicle bridge plans them and drives the emulated trucks over the broker; when a truck with a
dispatched run stands at its checkpoint gate, the checkpoint (OPC UA) posts the manifest and
reads the plate, and customs' decision comes back to the bridge. Prints the key events and, at
the end, throughput per direction. :func:`write_outputs` turns the run's MQTT recording into a
run directory in the simulator's formats and checks it (``corridor run --out DIR``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rclpy
from corridor_interfaces.msg import ClearanceDecision, RunStatus
from std_msgs.msg import String

from corridor_core.lane_map import NodeKind
from corridor_nodes import topics
from corridor_nodes.scenario import PlannedRun, ScenarioDriver, Timeline
from corridor_nodes.stack import Stack
from corridor_nodes.vehicle_bridge_node import PLAN_EVENTS
from corridor_sim.workload import LOOP_EPOCH, loop_workload, preset

EPOCH = LOOP_EPOCH  # the loop's simulated second 0


@dataclass(frozen=True)
class Arrival:
    """A run and when (controller-clock seconds) it is submitted."""

    at_s: float
    planned: PlannedRun


def workload(
    stack: Stack, preset_name: str, minutes: float, seed: int, hold_every: int = 25
) -> list[Arrival]:
    """Arrivals of ``preset_name`` over ``minutes`` after a 30-minute backlog (submitted at 0),
    as :func:`corridor_sim.workload.loop_workload` draws them (``corridor sim loopback`` runs
    the same). Every ``hold_every``-th run's manifest names another truck's plate, so customs
    holds it."""
    return [
        Arrival(load.at_s, PlannedRun(load.run, declared_plate=load.declared_plate or None))
        for load in loop_workload(stack.lane_map, preset_name, minutes, seed, hold_every)
    ]


class LoopDriver(ScenarioDriver):
    """Submits the workload as it arrives, plays the checkpoint at the gates, counts."""

    def __init__(self, stack: Stack, timeline: Timeline, schedule: list[Arrival]) -> None:
        super().__init__(stack, [], timeline)
        self.schedule = schedule
        self._next = 0
        self.ready_s = 0.0  # stack clock (s) at which the workload's time 0 falls
        self.cleared_s: dict[tuple[str, str], float] = {}  # (container, truck): first CLEARED
        self.completed_s: dict[str, float] = {}
        self.plan_events: Counter[str] = Counter()
        self._shown: set[str] = set()
        self.create_subscription(String, PLAN_EVENTS, self._on_plan, topics.EVENTS)
        lm = stack.lane_map
        self.gates = {
            lm.yard_of("CN"): self._first_gate(lm.yard_of("CN"), lm.yard_of("VN")),
            lm.yard_of("VN"): self._first_gate(lm.yard_of("VN"), lm.yard_of("CN")),
        }

    def _first_gate(self, a: str, b: str) -> str:
        lm = self.stack.lane_map
        for leg in lm.route(a, b):
            if lm.node(leg.end_node).kind is NodeKind.GATE:
                return leg.end_node
        return ""

    def restart_clock(self) -> None:
        """Start the workload now, once the stack is up. The timeline shows the stack's clock
        (the controller's and the trucks'), which started with the stack."""
        clock = self.stack.clock
        assert clock is not None, "the stack is not started"
        self.ready_s = clock.sim_s()
        self.timeline.t0 = time.monotonic() - (time.time() - clock.origin_wall_s)

    @property
    def t0_epoch_s(self) -> float:
        """Unix time of the workload's time 0 (what :meth:`sim_s` counts from)."""
        clock = self.stack.clock
        assert clock is not None, "the stack is not started"
        return clock.origin_wall_s + self.ready_s / clock.time_scale

    def sim_s(self) -> float:
        """Seconds of the workload's time: the stack's clock since :meth:`restart_clock`."""
        clock = self.stack.clock
        assert clock is not None, "the stack is not started"
        return clock.sim_s() - self.ready_s

    def _on_status(self, msg: RunStatus) -> None:
        old = self.status.get(msg.run_id)
        self.status[msg.run_id] = msg
        if old is not None and old.status == msg.status:
            return
        if msg.status_name == "COMPLETED":
            self.completed_s[msg.run_id] = self.sim_s()
            self.timeline.add(msg.run_id, f"COMPLETED   {msg.vehicle_id} at {msg.last_node_id}")
        elif msg.status_name in ("FAILED", "CANCELLED"):
            self.timeline.add(msg.run_id, f"{msg.status_name:<11} {msg.reason}")

    def _on_decision(self, msg: ClearanceDecision) -> None:
        self.decisions[msg.run_id] = msg
        if msg.decision_name == "CLEARED":
            self.cleared_s.setdefault((msg.container_number, msg.vehicle_id), self.sim_s())
        if msg.decision_name != "CLEARED":
            self.timeline.add(msg.run_id, f"{msg.decision_name:<11} {'; '.join(msg.reasons)}")

    def _on_plan(self, msg: String) -> None:
        event = json.loads(msg.data)
        reason = str(event.get("reason", ""))
        kind = "late" if " late at " in reason else reason.split(":")[0].split(" ")[0]
        self.plan_events[kind] += 1
        vehicle = str(event.get("vehicle_id", ""))
        key = f"{vehicle} {reason}"
        if not reason.startswith("joins") and key not in self._shown:
            self._shown.add(key)  # each distinct event once
            self.timeline.add(vehicle, f"PLAN        {reason}")

    def submit_due(self) -> None:
        """Queue every run whose arrival time has come, then let the submitter send them.

        The submitter waits for the service first, keeps a few requests in flight, checks every
        answer and re-sends a request left unanswered (see :mod:`corridor_nodes.run_submitter`).
        """
        now = self.sim_s()
        while self._next < len(self.schedule) and self.schedule[self._next].at_s <= now:
            planned = self.schedule[self._next].planned
            self._next += 1
            self.planned[planned.run.run_id] = planned
            self.submitter.submit(planned.run)
        self.submitter.pump()

    def play_checkpoint(self) -> None:
        """A truck with a dispatched run at its checkpoint gate: manifest, then plate read.

        A run shown ASSIGNED counts when the truck drives its order (the controller can show a
        dispatched run as ASSIGNED again after a re-plan moved it to that truck)."""
        for run_id, msg in sorted(self.status.items()):
            truck_order = self.vehicles.get(msg.vehicle_id)
            driven = (
                msg.status_name == "ASSIGNED"
                and bool(msg.order_id)
                and truck_order is not None
                and truck_order.order_id == msg.order_id
            )
            if msg.status_name not in ("DISPATCHED", "IN_PROGRESS") and not driven:
                continue
            if run_id in self.checkpoint_posted or run_id in self.decisions:
                continue
            planned = self.planned.get(run_id)
            vehicle = self.vehicles.get(msg.vehicle_id)
            truck = self.stack.fleet.by_serial(msg.vehicle_id)
            if planned is None or vehicle is None or truck is None:
                continue
            if vehicle.last_node_id != self.gates.get(planned.run.origin):
                continue
            self.checkpoint_posted.add(run_id)
            declared = planned.declared_plate or truck.plate
            self._post(run_id, planned, declared, truck.plate)

    def run_for(self, sim_minutes: float) -> None:
        """Spin for ``sim_minutes`` of the scenario clock."""
        end = sim_minutes * 60.0
        while self.sim_s() < end:
            rclpy.spin_once(self, timeout_sec=0.02)
            self.submit_due()
            self.play_checkpoint()
            if self.stack.supervisor is not None and self.stack.supervisor.dead():
                raise RuntimeError(f"processes died: {', '.join(self.stack.supervisor.dead())}")

    def summary(self, sim_minutes: float) -> list[str]:
        """Throughput and outcome lines."""
        hours = sim_minutes / 60.0
        by_dir: Counter[str] = Counter()
        for run_id in self.completed_s:
            by_dir[self.planned[run_id].run.direction.value] += 1
        states = Counter(m.status_name for m in self.status.values())
        total = sum(by_dir.values())
        refused = self.submitter.refusals()
        return [
            f"  submitted {len(self.planned)} runs over {sim_minutes:g} simulated minutes: "
            f"{self.submitter.summary()}",
            *(f"    {line}" for line in refused[:10]),
            *([f"    ... and {len(refused) - 10} more"] if len(refused) > 10 else []),
            f"  delivered {total} containers: {total / hours:.1f}/h "
            f"(southbound {by_dir['SOUTHBOUND'] / hours:.1f}/h, "
            f"northbound {by_dir['NORTHBOUND'] / hours:.1f}/h)",
            "  run states at the end: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())),
            "  plan events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.plan_events.items())),
        ]


def write_outputs(
    driver: LoopDriver, out: Path, recording: Path, minutes: float, preset_name: str, seed: int
) -> tuple[dict[str, Any], list[Any]]:
    """Write ``out`` in the simulator's formats from the MQTT ``recording`` of this run and
    check it; returns the metrics and the checker's violations (see
    :mod:`corridor_sim.loop_outputs`). Clearances are the CLEARED decisions seen on ROS."""
    from corridor_links.recorder import read_records
    from corridor_sim.loop_outputs import LoopRun, write_loop_run
    from corridor_sim.loop_rows import LoopClock, rows_from_records

    stack = driver.stack
    end_s = minutes * 60.0
    rows = rows_from_records(
        read_records(recording),
        stack.lane_map,
        LoopClock(driver.t0_epoch_s, driver.timeline.time_scale),
        driver.cleared_s,
        stack.fleet.manufacturer,
        end_s,
    )
    run = LoopRun(
        lane_map=stack.lane_map,
        map_path=stack.map_path,
        agreement_path=None,  # the vehicle bridge runs always open
        epoch=EPOCH,
        end_s=end_s,
        preset=preset_name,
        seed=seed,
        fleet=len(stack.fleet.trucks),
        southbound_share=preset(preset_name).southbound_share,
        offered_loads=sum(1 for a in driver.schedule if a.at_s < end_s),
        time_scale=driver.timeline.time_scale,
    )
    return write_loop_run(run, rows, out)
