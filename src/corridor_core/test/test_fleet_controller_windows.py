"""The fleet controller keeps the agreement: last entry at km 0, the lane empty at the close, and
an agreement changed at run time (:meth:`FleetController.set_calendar`).

Driven like ``test_fleet_controller.py``: in-process trucks that execute the VDA 5050 orders
they get (edges at the edge's speed, waits at ``waitForTrigger``), here with a checkpoint that
answers a given delay after the truck reaches its gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_core.dispatcher import RunChanged
from corridor_core.fleet import Fleet, Truck
from corridor_core.fleet_controller import FleetController
from corridor_core.planning.windows import OpenInterval, WindowCalendar
from corridor_core.runs import Direction, RunState

from .test_fleet_controller import MAP, XMAP, Loop, PureTruck, _run

YARDS = {"Z-CN", "Z-VN"}
DAY_S = 86400.0


def _calendar(last_entry_s: float, close_s: float, open_s: float = 0.0) -> WindowCalendar:
    """Open from ``open_s``, and again the next day, both directions."""
    spans = (
        OpenInterval(open_s, last_entry_s, close_s),
        OpenInterval(DAY_S + open_s, DAY_S + last_entry_s, DAY_S + close_s),
    )
    return WindowCalendar({d: spans for d in Direction})


@dataclass
class WindowLoop(Loop):
    """The test loop from any start time, with a checkpoint that answers late."""

    clearance_delay_s: float = 0.0
    at_gate: dict[str, float] = field(default_factory=dict)  # truck -> when it got there
    now: float = 0.0
    positions: dict[float, dict[str, tuple[str, bool]]] = field(default_factory=dict)
    watch: tuple[float, ...] = ()  # instants whose positions are kept

    def run_to(self, until_s: float, dt: float = 1.0) -> None:
        while self.now < until_s:
            now = self.now
            self.execute(self.ctl.tick(now), now)
            for truck in self.trucks.values():
                if truck.alive and now % 10 == 0:
                    self.execute(self.ctl.on_state(truck.report(), now), now)
                if truck.step(now, None):
                    self.execute(self.ctl.on_state(truck.report(), now), now)
                    if XMAP.node(truck.node).kind.value == "gate" and truck._held():
                        self.at_gate.setdefault(truck.serial, now)
                gate_s = self.at_gate.get(truck.serial)
                if gate_s is not None and now >= gate_s + self.clearance_delay_s:
                    del self.at_gate[truck.serial]
                    self.checkpoint(truck, now)
            for t in self.watch:
                if t <= now < t + dt:
                    self.positions[t] = {
                        s: (tr.node, not math.isinf(tr.arrive_s)) for s, tr in self.trucks.items()
                    }
            self.now += dt

    def checkpoint(self, truck: PureTruck, now: float) -> None:
        plate = next(t.plate for t in self.ctl.fleet.trucks if t.serial == truck.serial)
        for view in self.ctl.runs():
            if view.vehicle_id == truck.serial and not view.state.final:
                manifest = ManifestRecord(
                    f"D-{view.run_id}", view.container_number, plate, "RELEASED"
                )
                self.execute(self.ctl.on_manifest(manifest, now), now)
        self.execute(self.ctl.on_plate_read(PlateObservation(plate, "L1", f"X{now}"), now), now)

    def km0_times(self) -> list[tuple[str, float]]:
        """(truck, when it reached the border point B0), from the trucks' own drive logs."""
        out = []
        for serial, truck in self.trucks.items():
            for seg, direction, _, exit_s in truck.log:
                if (seg, direction) == ("S3", "S"):
                    out.append((serial, exit_s))
            for seg, direction, enter_s, _ in truck.log:
                if (seg, direction) == ("S4a", "N"):
                    out.append((serial, enter_s + MAP.segment("S4a").length_m / (20 / 3.6)))
        return out


def _window_loop(
    calendar: WindowCalendar, south: int, north: int, clearance_delay_s: float = 0.0
) -> WindowLoop:
    trucks = [Truck(f"T{i:02d}", f"桂F·D31{i:02d}", "Z-CN") for i in range(1, south + 1)]
    trucks += [
        Truck(f"T{i:02d}", f"桂F·D31{i:02d}", "Z-VN") for i in range(south + 1, south + north + 1)
    ]
    ctl = FleetController(MAP, Fleet("M", tuple(trucks)), calendar=calendar)
    loop = WindowLoop(
        ctl,
        {t.serial: PureTruck(t.serial, t.home_node) for t in trucks},
        clearance_delay_s=clearance_delay_s,
    )
    for t in loop.trucks.values():
        loop.execute(ctl.on_connection(t.serial, "ONLINE", 0.0), 0.0)
        loop.execute(ctl.on_state(t.report(), 0.0), 0.0)
    return loop


def _submit(loop: WindowLoop, runs: list, now: float) -> None:
    for run in runs:
        ok, msg, cmds = loop.ctl.submit(run, now)
        assert ok, msg
        loop.execute(cmds, now)


def _busy_window(last_entry_s: float, close_s: float, clearance_delay_s: float) -> WindowLoop:
    """Three trucks each way, twelve runs both ways, a window closing mid-run: some cross, none
    after the last entry, and the lane is empty at the close. Returns the loop run."""
    loop = _window_loop(_calendar(last_entry_s, close_s), 3, 3, clearance_delay_s)
    loop.watch = (close_s,)
    _submit(loop, [_run(i, i % 2 == 0) for i in range(1, 13)], 0.0)
    loop.run_to(close_s + 60.0)
    crossings = loop.km0_times()
    assert crossings, "some trucks cross in the window"
    assert all(t <= last_entry_s for _, t in crossings), crossings
    on_lane = {s: p for s, p in loop.positions[close_s].items() if p[0] not in YARDS or p[1]}
    assert on_lane == {}
    return loop


def test_no_truck_leaves_its_yard_when_it_cannot_reach_km0_by_the_last_entry() -> None:
    # The trip needs some 7 minutes to km 0; the last entry is in 5. Before the fix the first
    # pieces were released anyway and the truck stood at P-S, on the lane, through the close.
    loop = _window_loop(_calendar(last_entry_s=300.0, close_s=1200.0), 1, 0)
    loop.watch = (1200.0,)
    _submit(loop, [_run(1, True)], 0.0)
    loop.run_to(1800.0)
    assert loop.km0_times() == []
    assert loop.positions[1200.0] == {"T01": ("Z-CN", False)}
    assert loop.ctl.run("R001").state is not RunState.COMPLETED


def test_trucks_that_go_reach_km0_by_the_last_entry_and_the_lane_is_empty_at_close() -> None:
    loop = _busy_window(1500.0, 2400.0, clearance_delay_s=0.0)
    done = [r for r in loop.ctl.runs() if r.state is RunState.COMPLETED]
    assert 0 < len(done) < 12  # the rest wait for tomorrow's window


def test_late_clearance_keeps_the_truck_before_km0_instead_of_crossing_after_last_entry() -> None:
    # Customs answers 400 s after the truck reaches its gate, more than the clearance
    # allowance: by then it cannot reach km 0 by the last entry. Before the fix it drove on
    # and crossed km 0 after the last entry.
    loop = _window_loop(_calendar(last_entry_s=700.0, close_s=1600.0), 1, 0, 400.0)
    _submit(loop, [_run(1, True)], 0.0)
    loop.run_to(1700.0)
    assert loop.km0_times() == []
    # it waited at G-CN until it could no longer make the last entry, then turned back
    assert loop.trucks["T01"].node == "Z-CN"


def test_set_calendar_cut_window_gives_waiting_runs_a_reason_and_keeps_them_in_the_yard() -> None:
    # runs submitted before the window opens (at 1 h): the trucks wait in their yards
    loop = _window_loop(_calendar(20000.0, 21000.0, open_s=3600.0), 2, 0)
    _submit(loop, [_run(1, True), _run(2, True)], 0.0)
    loop.run_to(600.0)
    assert all(r.reason == "" for r in loop.ctl.runs())
    assert {t.node for t in loop.trucks.values()} == {"Z-CN"}
    # the agreement changes: today's last entry is 5 minutes after the opening, too soon
    cmds = loop.ctl.set_calendar(_calendar(3900.0, 4000.0, open_s=3600.0), 600.0)
    loop.execute(cmds, 600.0)
    changed = {c.run.run_id: c.run.reason for c in cmds if hasattr(c, "run")}
    assert changed == {
        "R001": "waits for the next window (opens in 24.8 h)",
        "R002": "waits for the next window (opens in 24.8 h)",
    }
    loop.watch = (4000.0,)
    loop.run_to(5400.0)
    assert loop.km0_times() == []
    assert loop.positions[4000.0] == {"T01": ("Z-CN", False), "T02": ("Z-CN", False)}
    # and back: the wide window again, the reason goes, the runs are carried
    cmds = loop.ctl.set_calendar(_calendar(20000.0, 21000.0, open_s=3600.0), 5400.0)
    loop.execute(cmds, 5400.0)
    assert all(r.reason == "" for r in loop.ctl.runs())
    loop.run_to(7200.0)
    assert all(r.state is RunState.COMPLETED for r in loop.ctl.runs())
    assert all(3600.0 <= t <= 20000.0 for _, t in loop.km0_times())


def test_set_calendar_without_any_window_says_so() -> None:
    loop = _window_loop(_calendar(20000.0, 21000.0, open_s=3600.0), 1, 0)
    _submit(loop, [_run(1, True)], 0.0)
    cmds = loop.ctl.set_calendar(WindowCalendar({d: () for d in Direction}), 10.0)
    loop.execute(cmds, 10.0)
    view = loop.ctl.run("R001")
    assert view.reason == "no SOUTHBOUND window left in the agreement's calendar"
    assert view.state in (RunState.SUBMITTED, RunState.ASSIGNED, RunState.DISPATCHED)
    loop.run_to(5400.0)
    assert loop.km0_times() == []
    assert loop.trucks["T01"].node == "Z-CN"


def test_a_truck_whose_clearance_never_comes_turns_back_and_its_run_waits() -> None:
    # The checkpoint never answers: the truck waits at its gate (CI once saw a lost manifest
    # leave a truck at G-VN through the close). When the wait makes it miss the last entry,
    # it turns back to its yard with the container, sets it down, and the run waits again.
    last_entry_s, close_s = 1500.0, 2400.0
    loop = _window_loop(_calendar(last_entry_s, close_s), 1, 0, clearance_delay_s=math.inf)
    loop.watch = (close_s,)
    _submit(loop, [_run(1, True)], 0.0)
    reasons: list[str] = []
    execute = loop.execute

    def execute_and_note(commands: list, now: float) -> None:
        reasons.extend(c.run.reason for c in commands if isinstance(c, RunChanged))
        execute(commands, now)

    loop.execute = execute_and_note  # type: ignore[method-assign]
    loop.run_to(close_s + 60.0)
    assert loop.km0_times() == []
    assert loop.positions[close_s] == {"T01": ("Z-CN", False)}
    assert any("turned back at G-CN" in r for r in reasons), reasons
    assert any("back in Z-CN" in r for r in reasons), reasons  # the run waits again
    assert not loop.ctl.run("R001").state.final
    assert loop.ctl.counters["turned_back"] == 1
    drops = [a for a in loop.trucks["T01"].waiting if "drop" in a]
    assert drops, "the container is set down in the yard"


def test_a_truck_held_short_of_the_border_past_the_last_entry_turns_back() -> None:
    # Trucks of both directions, more than the window carries, a checkpoint that answers after
    # a few minutes: whoever is still short of km 0 when it can no longer make the last entry
    # turns back; no one crosses late, no one is on the lane at the close.
    loop = _busy_window(1200.0, 2100.0, clearance_delay_s=240.0)
    for view in loop.ctl.runs():
        assert view.state is RunState.COMPLETED or not view.state.final, view
