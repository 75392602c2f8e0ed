"""Test helpers for the planner: generated corridors and a minimal driver.

The driver plays trucks that follow the plan (optionally late), injects scripted events, and
after every step asks the independent checker about the whole plan, executed trips included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from corridor_core.iso6346 import with_check_digit
from corridor_core.map_io import parse_map
from corridor_core.planning.checker import Violation, check_plan
from corridor_core.planning.planner import Planner
from corridor_core.planning.router import Trip
from corridor_core.runs import ContainerRun, Direction

VEHICLE = {
    "id": "v", "length_m": 17.0, "max_speed_kph": 30.0, "accel_loaded_mps2": 0.5,
    "accel_empty_mps2": 0.8, "braking_mps2": 1.0, "emergency_braking_mps2": 3.0,
    "battery_range_km": 150.0, "swap_every_round_trips": 16, "swap_time_s": 300.0,
}  # fmt: skip


def corridor_doc(pieces: list[tuple[str, float, int]], with_border_at: int | None = None,
                 gate_servers: int = 1) -> dict[str, Any]:  # fmt: skip
    """A linear corridor CN yard -> ... -> VN yard.

    ``pieces``: (lane_mode, length_m, slots of the node after it) per segment; single-lane
    segments get holding places at both ends by construction.
    """
    nodes = [{"id": "ZA", "kind": "yard", "jurisdiction": "CN", "x_m": 0.0, "y_m": 0.0},
             {"id": "GA", "kind": "gate", "jurisdiction": "CN", "x_m": 20.0, "y_m": 0.0,
              "holding_slots": 2}]  # fmt: skip
    segments = [{"id": "YA", "from": "ZA", "to": "GA", "length_m": 20.0,
                 "lane_mode": "two_way_dual", "speed_limit_kph": 10.0}]  # fmt: skip
    x = 20.0
    prev = "GA"
    # gate GA can hold gate_servers trucks; single lanes need holding at both ends
    for i, (mode, length, slots) in enumerate(pieces):
        x += length
        last = i == len(pieces) - 1
        node_id = "GB" if last else f"N{i}"
        kind = "gate" if last else ("border_point" if i == with_border_at else "holding_pocket")
        node: dict[str, Any] = {"id": node_id, "kind": kind, "jurisdiction": "CN" if x < 1e9 else "VN",
                                "x_m": x, "y_m": 0.0, "holding_slots": max(1, slots)}  # fmt: skip
        nodes.append(node)
        segments.append({"id": f"S{i}", "from": prev, "to": node_id, "length_m": length,
                         "lane_mode": mode, "speed_limit_kph": 20.0 if mode != "two_way_dual" else 30.0,
                         "all_clear_s": 8.0})  # fmt: skip
        prev = node_id
    nodes.append({"id": "ZB", "kind": "yard", "jurisdiction": "VN", "x_m": x + 20, "y_m": 0.0})
    segments.append({"id": "YB", "from": prev, "to": "ZB", "length_m": 20.0,
                     "lane_mode": "two_way_dual", "speed_limit_kph": 10.0})  # fmt: skip
    stations = [
        {"id": "GA-GATE", "node": "GA", "kind": "gate", "servers": gate_servers,
         "directions": ["SOUTHBOUND", "NORTHBOUND"], "service_time_s": {"dist": "constant", "value": 20}},
        {"id": "GB-GATE", "node": "GB", "kind": "gate", "servers": gate_servers,
         "directions": ["SOUTHBOUND", "NORTHBOUND"], "service_time_s": {"dist": "constant", "value": 30}},
        {"id": "ZA-CRANE", "node": "ZA", "kind": "yard_handling", "servers": 3,
         "directions": ["SOUTHBOUND", "NORTHBOUND"], "service_time_s": {"dist": "constant", "value": 120}},
        {"id": "ZB-CRANE", "node": "ZB", "kind": "yard_handling", "servers": 3,
         "directions": ["SOUTHBOUND", "NORTHBOUND"], "service_time_s": {"dist": "constant", "value": 120}},
    ]  # fmt: skip
    return {"name": "generated-corridor", "following_rule": {"standstill_gap_m": 5.0, "time_gap_s": 2.0},
            "vehicle_classes": [VEHICLE], "nodes": nodes, "segments": segments,
            "stations": stations}  # fmt: skip


def make_map(pieces, border_at=None, gate_servers=1):  # type: ignore[no-untyped-def]
    return parse_map(corridor_doc(pieces, border_at, gate_servers), "generated.yaml")


def run_of(i: int, direction: Direction, ready_s: float = 0.0, due_s: float = 0.0) -> ContainerRun:
    origin, dest = ("ZA", "ZB") if direction is Direction.SOUTHBOUND else ("ZB", "ZA")
    return ContainerRun(f"R{i:04d}", with_check_digit(f"TSTU{100000 + i}"), origin, dest,
                        direction, ready_s, due_s)  # fmt: skip


@dataclass
class Driver:
    """Moves trucks along their plans; records finished trips; checks after every step."""

    planner: Planner
    delays: dict[tuple[str, str], float] = field(default_factory=dict)  # (truck, node) -> s late
    finished: list[Trip] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    over_slots: list[Violation] = field(default_factory=list)  # the known open defect
    base_changes: list[str] = field(default_factory=list)
    now: float = 0.0

    def intervals(self):  # type: ignore[no-untyped-def]
        cal = self.planner.calendar
        return {
            d: [(s.open_s, s.last_entry_s, s.close_s) for s in cal.intervals[d]] for d in Direction
        }

    def check(self) -> None:
        """Ask the checker about the whole plan, executed trips included. A place planned over
        its slots goes to ``over_slots``, not ``violations``: the known open defect (see
        docs/planning.md); the places themselves are kept by the interlock in both
        executions."""
        trips = self.finished + self.planner.all_trips()
        for v in check_plan(self.planner.lane_map, trips, self.intervals()):
            (self.over_slots if v.rule == "holding_over_capacity" else self.violations).append(v)

    def next_arrival(self) -> tuple[float, str, str] | None:
        best = None
        for truck, state in self.planner.trucks.items():
            if not state.trips:
                continue
            trip = state.trips[0]
            if state.position + 1 >= len(trip.stops) or state.released <= state.position:
                continue
            stop = trip.stops[state.position + 1]
            t = stop.arrive_s + self.delays.get((truck, stop.node_id), 0.0)
            if best is None or (t, truck) < (best[0], best[1]):
                best = (t, truck, stop.node_id)
        return best

    def step_until(self, t_end: float, tick_s: float = 600.0) -> None:
        """Move trucks and tick the planner every ``tick_s`` until ``t_end`` (or all is done)."""
        t = self.now
        while t < t_end:
            t = min(t + tick_s, t_end)
            self._arrivals_until(t)
            if self.idle() and t >= self.now and all_done(self.planner) and t_end - t > tick_s:
                self.now = t
                break

    def idle(self) -> bool:
        return all(not s.trips for s in self.planner.trucks.values())

    def _arrivals_until(self, t_end: float) -> None:
        for _ in range(100_000):
            nxt = self.next_arrival()
            if nxt is None or nxt[0] > t_end:
                break
            t, truck, node = nxt
            self.now = max(self.now, t)
            before = self.planner.bases()
            trip = self.planner.trucks[truck].trips[0]
            if node == trip.destination and node == trip.stops[-1].node_id:
                self.finished.append(trip)
            self.planner.report_position(truck, node, self.now)
            self._compare_bases(before)
            self.check()
        self.now = max(self.now, t_end)
        before = self.planner.bases()
        self.planner.tick(self.now)
        self._compare_bases(before)

    def event(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        before = self.planner.bases()
        fn(*args)
        self._compare_bases(before)
        self.check()

    def _compare_bases(self, before: dict) -> None:  # type: ignore[type-arg]
        after = self.planner.bases()
        for truck, old in before.items():
            new = after.get(truck)
            if not old or new is None:
                continue
            old_nodes = [n for n, _ in old]
            new_nodes = [n for n, _ in new]
            # A base may grow or be driven through (the trip ends); it may not change.
            if (
                new_nodes[: len(old_nodes)] != old_nodes
                and old_nodes[: len(new_nodes)] != new_nodes
            ):
                trip_done = not self.planner.trucks[truck].trips or new_nodes[0] != old_nodes[0]
                if not trip_done:
                    self.base_changes.append(f"{truck}: {old_nodes} -> {new_nodes}")


def all_done(planner: Planner) -> bool:
    return all(r.done for r in planner.runs.values() if not math.isinf(r.cleared_s))
