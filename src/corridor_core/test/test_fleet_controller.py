"""The fleet controller with trucks that obey VDA 5050 orders, in-process and deterministic.

The trucks here are a minimal order executor (drive released edges at the edge's speed, stop at
the last released node, wait at a waitForTrigger until its trigger). The MQTT emulator is tested
against a real broker elsewhere; here the subject is the controller's logic and its invariants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from corridor_core.clearance import ManifestRecord, PlateObservation
from corridor_core.dispatcher import ClearanceIssued, Problem, SendOrder
from corridor_core.fleet import Fleet, Truck
from corridor_core.fleet_controller import FleetController, LinkSettings, SendInstantActions
from corridor_core.interlock.stop_lines import with_stop_lines
from corridor_core.iso6346 import with_check_digit
from corridor_core.map_io import load_map
from corridor_core.runs import ContainerRun, Direction, RunState
from corridor_core.vda5050 import StateReport, check_order

ROOT = Path(__file__).resolve().parents[3]
MAP = load_map(ROOT / "maps" / "tan-thanh-puzhai-2027.yaml")
# the controller's view (its orders name stop lines): the trucks here look nodes up in it
XMAP = with_stop_lines(MAP)
SINGLE = {s.segment_id for s in MAP.segments if s.lane_mode.value == "single_alternating"}


@dataclass
class PureTruck:
    serial: str
    node: str
    nodes: list[dict] = field(default_factory=list)  # pending nodes of the order
    edges: list[dict] = field(default_factory=list)
    order_id: str = ""
    update_id: int = 0
    last_seq: int = 0
    header: int = 0
    arrive_s: float = math.inf
    waiting: dict[str, str] = field(default_factory=dict)  # actionId -> status
    log: list[tuple[str, str, float, float]] = field(default_factory=list)  # seg, dir, in, out
    enter_s: float = 0.0
    alive: bool = True
    crane_s: float = 0.0  # a pick or drop runs this long (0: at once)
    busy: list[str] = field(default_factory=list)  # pick / drop actions running
    busy_since: float = 0.0
    new_orders_while_busy: list[str] = field(default_factory=list)

    def receive(self, body: dict) -> None:
        assert not check_order({**body, **HEADER}), check_order({**body, **HEADER})
        if body["orderId"] != self.order_id:
            assert not self.nodes, f"{self.serial}: new order while busy"
            if self.busy:
                self.new_orders_while_busy.append(body["orderId"])
            assert body["nodes"][0]["nodeId"] == self.node
            self.nodes, self.edges = body["nodes"][1:], body["edges"]
            self.last_seq = body["nodes"][0]["sequenceId"]
        else:
            assert body["orderUpdateId"] > self.update_id
            assert body["nodes"][0]["sequenceId"] == self.last_seq_base(), "stitching"
            keep = [n for n in self.nodes if n["released"]]
            keep_e = [e for e in self.edges if e["released"]]
            self.nodes = keep + body["nodes"][1:]
            self.edges = keep_e + body["edges"]
        self.order_id, self.update_id = body["orderId"], body["orderUpdateId"]
        for node in body["nodes"]:
            for action in node["actions"]:  # pick and drop: an instant crane, or crane_s
                done = action["actionType"] != "waitForTrigger" and not self.crane_s
                self.waiting.setdefault(action["actionId"], "FINISHED" if done else "WAITING")
        if body["nodes"][0]["sequenceId"] == 0:
            self._start_crane(body["nodes"][0]["actions"], self.busy_since)

    def last_seq_base(self) -> int:
        released = [n for n in self.nodes if n["released"]]
        return released[-1]["sequenceId"] if released else self.last_seq

    def _start_crane(self, actions: list[dict], now: float) -> None:
        for action in actions:
            if action["actionType"] in ("pick", "drop") and self.crane_s:
                self.waiting[action["actionId"]] = "RUNNING"
                self.busy.append(action["actionId"])
                self.busy_since = now

    def step(self, now: float, speed_of) -> bool:
        if not self.alive:
            return False
        self.busy_since = self.busy_since if self.busy else now
        if self.busy:
            if now < self.busy_since + self.crane_s:
                return False
            for action_id in self.busy:
                if self.waiting[action_id] == "RUNNING":
                    self.waiting[action_id] = "FINISHED"
            self.busy = []
            return True
        if math.isinf(self.arrive_s):
            if self.nodes and self.nodes[0]["released"] and not self._held():
                edge = self.edges[0]
                self.arrive_s = now + edge["length"] / edge["maxSpeed"]
                self.enter_s = now
            return False
        if now < self.arrive_s:
            return False
        node, edge = self.nodes.pop(0), self.edges.pop(0)
        seg = edge["edgeId"].split(":")[0]
        direction = "S" if XMAP.node(node["nodeId"]).x_m > XMAP.node(self.node).x_m else "N"
        self.log.append((seg, direction, self.enter_s, now))
        self.node, self.last_seq = node["nodeId"], node["sequenceId"]
        self.arrive_s = math.inf
        self._start_crane(node["actions"], now)
        return True

    def _held(self) -> bool:
        return any(
            self.waiting.get(a["actionId"]) not in ("FINISHED", "FAILED")
            for a in self._actions_here()
            if a["actionType"] == "waitForTrigger"
        )

    def _actions_here(self) -> list[dict]:
        return self._here_actions.get(self.node, [])

    _here_actions: dict[str, list[dict]] = field(default_factory=dict)

    def report(self) -> StateReport:
        self.header += 1
        return StateReport(
            "M", self.serial, self.header, self.order_id, self.update_id, self.node,
            self.last_seq, tuple(n["nodeId"] for n in self.nodes), not math.isinf(self.arrive_s),
            100.0, XMAP.node(self.node).x_m, XMAP.node(self.node).y_m, "AUTOMATIC", (),
            action_states=tuple(sorted(self.waiting.items())),
        )  # fmt: skip


HEADER = {"headerId": 0, "timestamp": "x", "version": "2.0.0", "manufacturer": "M",
          "serialNumber": "T"}  # fmt: skip


def _fleet(n: int, home: str = "Z-CN") -> Fleet:
    return Fleet("M", tuple(Truck(f"T{i:02d}", f"桂F·D31{i:02d}", home) for i in range(1, n + 1)))


def _run(i: int, south: bool) -> ContainerRun:
    number = with_check_digit(f"CSQU{300000 + i:06d}")
    if south:
        return ContainerRun(f"R{i:03d}", number, "Z-CN", "Z-VN", Direction.SOUTHBOUND)
    return ContainerRun(f"R{i:03d}", number, "Z-VN", "Z-CN", Direction.NORTHBOUND)


@dataclass
class Loop:
    ctl: FleetController
    trucks: dict[str, PureTruck]
    hold: set[str] = field(default_factory=set)  # containers customs holds
    cleared_at: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    triggers: int = 0
    deaf: set[str] = field(default_factory=set)  # trucks cut off the network both ways

    def execute(self, commands: list, now: float) -> None:
        # in send order, as MQTT delivers them: commands caused by a state go to the back
        pending = list(commands)
        while pending:
            c = pending.pop(0)
            if getattr(c, "vehicle_id", "") in self.deaf and isinstance(
                c, SendOrder | SendInstantActions
            ):
                continue  # lost on the way: the truck is off the network
            if isinstance(c, SendOrder):
                truck = self.trucks[c.vehicle_id]
                if truck.alive:
                    for node in c.order["nodes"]:
                        if node["actions"]:
                            truck._here_actions[node["nodeId"]] = node["actions"]
                    truck.receive(c.order)
                    pending += self.ctl.on_state(truck.report(), now)
            elif isinstance(c, SendInstantActions):
                truck = self.trucks[c.vehicle_id]
                for a in c.actions:
                    if a["actionType"] == "cancelOrder":
                        truck.nodes, truck.edges = [], []
                        truck.arrive_s = math.inf
                        truck.waiting = {k: "FAILED" if v != "FINISHED" else v
                                         for k, v in truck.waiting.items()}  # fmt: skip
                    if a["actionType"] == "trigger":
                        self.triggers += 1
                        truck.waiting[a["actionParameters"][0]["value"]] = "FINISHED"
            elif isinstance(c, ClearanceIssued):
                self.decisions[c.run_id] = c.result.cleared
                if c.result.cleared:
                    self.cleared_at[c.run_id] = now
            elif isinstance(c, Problem):
                self.problems.append(c.text)

    def run(self, until_s: float, dt: float = 1.0, start_s: float = 0.0) -> None:
        now = start_s
        while now < until_s:
            self.execute(self.ctl.tick(now), now)
            for truck in self.trucks.values():
                if truck.alive and now % 10 == 0:  # trucks report at least every 10 s here
                    self.execute(self.ctl.on_state(truck.report(), now), now)
                if truck.step(now, None):
                    self.execute(self.ctl.on_state(truck.report(), now), now)
                    if XMAP.node(truck.node).kind.value == "gate" and truck._held():
                        self.checkpoint(truck, now)
            now += dt

    def checkpoint(self, truck: PureTruck, now: float) -> None:
        """The checkpoint posts the manifest of the truck's run and reads its plate."""
        plate = next(t.plate for t in self.ctl.fleet.trucks if t.serial == truck.serial)
        for view in self.ctl.runs():
            if view.vehicle_id == truck.serial and not view.state.final:
                declared = "桂F·D0000" if view.run_id in self.hold else plate
                manifest = ManifestRecord(f"D-{view.run_id}", view.container_number, declared,
                                          "RELEASED")  # fmt: skip
                self.execute(self.ctl.on_manifest(manifest, now), now)
        self.execute(self.ctl.on_plate_read(PlateObservation(plate, "L1", f"X{now}"), now), now)


def _loop(
    south: int,
    north: int,
    runs: list[ContainerRun],
    hold: set[str] = frozenset(),
    settings: LinkSettings | None = None,
) -> Loop:
    trucks = [Truck(f"T{i:02d}", f"桂F·D31{i:02d}", "Z-CN") for i in range(1, south + 1)]
    trucks += [Truck(f"T{i:02d}", f"桂F·D31{i:02d}", "Z-VN")
               for i in range(south + 1, south + north + 1)]  # fmt: skip
    ctl = FleetController(MAP, Fleet("M", tuple(trucks)), settings=settings or LinkSettings())
    loop = Loop(ctl, {t.serial: PureTruck(t.serial, t.home_node) for t in trucks}, set(hold))
    for t in loop.trucks.values():
        loop.execute(ctl.on_connection(t.serial, "ONLINE", 0.0), 0.0)
        loop.execute(ctl.on_state(t.report(), 0.0), 0.0)
    for run in runs:
        ok, msg, cmds = ctl.submit(run, 0.0)
        assert ok, msg
        loop.execute(cmds, 0.0)
    return loop


def _conflicts(trucks: dict[str, PureTruck]) -> list[str]:
    found = []
    logs = [(s, *entry) for s, t in trucks.items() for entry in t.log]
    for i, (a, seg, d, t0, t1) in enumerate(logs):
        for b, seg2, d2, u0, u1 in logs[i + 1 :]:
            if a != b and seg == seg2 and seg in SINGLE and d != d2 and t0 < u1 and u0 < t1:
                found.append(f"{a} {d} and {b} {d2} on {seg} at {max(t0, u0):.0f} s")
    return found


def test_one_run_goes_piece_by_piece_and_waits_for_clearance() -> None:
    loop = _loop(1, 0, [_run(1, True)])
    loop.run(1500)
    view = loop.ctl.run("R001")
    assert view is not None and view.state is RunState.COMPLETED, view
    feed = loop.ctl.feed("T01")
    assert feed.update_id >= 3, "the base grows by several order updates"
    assert loop.triggers == 1
    assert loop.decisions == {"R001": True}
    # the truck crossed km 0 (segment S4a starts there) only after clearance
    s4 = [e for e in loop.trucks["T01"].log if e[0] == "S4a"]
    assert s4 and s4[0][2] >= loop.cleared_at["R001"]


def test_the_next_order_waits_for_the_drop_under_the_crane() -> None:
    loop = _loop(1, 0, [_run(1, True), _run(2, False)])
    truck = loop.trucks["T01"]
    truck.crane_s = 150.0  # pick and drop take 150 s each
    loop.run(4000)
    assert [loop.ctl.run(r).state for r in ("R001", "R002")] == [RunState.COMPLETED] * 2
    drops = {a: s for a, s in truck.waiting.items() if a.endswith(":drop")}
    picks = {a: s for a, s in truck.waiting.items() if a.endswith(":pick")}
    assert len(drops) == 2 and len(picks) == 2, truck.waiting
    assert set(drops.values()) == set(picks.values()) == {"FINISHED"}, truck.waiting
    assert truck.new_orders_while_busy == []


def test_held_run_never_crosses_and_the_truck_is_freed() -> None:
    loop = _loop(1, 0, [_run(1, True)], hold={"R001"})
    loop.run(900)
    assert loop.ctl.run("R001").state is RunState.HELD
    assert loop.triggers == 0
    assert [e for e in loop.trucks["T01"].log if e[0] in ("S3", "S4a")] == []
    assert loop.trucks["T01"].node in ("G-CN", "Z-CN")


def test_many_trucks_both_ways_no_conflict_on_single_lane() -> None:
    runs = [_run(i, i % 2 == 0) for i in range(1, 25)]
    loop = _loop(4, 4, runs)
    loop.run(3 * 3600)
    done = [r for r in loop.ctl.runs() if r.state is RunState.COMPLETED]
    assert not _conflicts(loop.trucks)
    assert len(done) == 24, [(r.run_id, r.state.name, r.vehicle_id) for r in loop.ctl.runs()]


def test_lost_truck_leaves_the_plan_and_its_run_goes_to_another() -> None:
    loop = _loop(2, 0, [_run(1, True)])
    loop.run(5)
    first = loop.ctl.run("R001").vehicle_id
    other = "T02" if first == "T01" else "T01"
    loop.trucks[first].alive = False
    cmds = loop.ctl.on_connection(first, "CONNECTIONBROKEN", 6.0)
    assert any(getattr(c, "reason", "").startswith("connection CONNECTIONBROKEN") for c in cmds)
    loop.execute(cmds, 6.0)
    assert not loop.ctl.in_plan(first)
    assert loop.ctl.run("R001").vehicle_id == other
    loop.run(1500)
    assert loop.ctl.run("R001").state is RunState.COMPLETED


def test_fatal_error_on_the_lane_fails_the_loaded_run_and_closes_the_segment() -> None:
    loop = _loop(1, 0, [_run(1, True)])
    loop.run(400)  # cleared at G-CN, on its way to the tunnel
    truck = loop.trucks["T01"]
    assert truck.node not in ("Z-CN", "G-CN")
    report = truck.report()
    broken = StateReport(**{**report.__dict__, "driving": True, "errors": ("breakdown: x",),
                            "error_levels": (("breakdown", "FATAL"),)})  # fmt: skip
    cmds = loop.ctl.on_state(broken, 401.0)
    assert loop.ctl.run("R001").state is RunState.FAILED
    assert not loop.ctl.in_plan("T01")
    assert any("closes" in getattr(c, "reason", "") for c in cmds)


def test_unacknowledged_order_is_sent_again_and_stale_states_are_counted() -> None:
    ctl = FleetController(MAP, _fleet(1))
    truck = PureTruck("T01", "Z-CN")
    ctl.on_connection("T01", "ONLINE", 0.0)
    ctl.on_state(truck.report(), 0.0)
    _, _, cmds = ctl.submit(_run(1, True), 0.0)
    sent = [c for c in cmds if isinstance(c, SendOrder)]
    assert len(sent) == 1
    again = [c for c in ctl.tick(ctl.settings.resend_after_s + 1) if isinstance(c, SendOrder)]
    assert again and again[0].order == sent[0].order
    old = truck.report()
    ctl.on_state(truck.report(), 40.0)
    problems = [c for c in ctl.on_state(old, 41.0) if isinstance(c, Problem)]
    assert problems and "stale" in problems[0].text
    assert ctl.counters["stale_states"] == 1


# --- regression tests of the deployed path's fault defects (issue 13, item 0 and item 6) -----


def _mute_run(loop: Loop, until_s: float, mute: str, at_node: str, nth: int = 1) -> float:
    """Like Loop.run, but ``mute`` drops off the network right after its ``nth`` report of
    standing at ``at_node``: no reports out, no orders or instant actions in, and it keeps
    driving what it was released (a silent truck is not a stopped truck). Returns when."""
    now, seen, muted = 0.0, 0, math.nan
    while now < until_s:
        loop.execute(loop.ctl.tick(now), now)
        for truck in loop.trucks.values():
            silent = truck.serial in loop.deaf
            if truck.alive and now % 10 == 0 and not silent:
                loop.execute(loop.ctl.on_state(truck.report(), now), now)
            if truck.step(now, None) and not silent:
                loop.execute(loop.ctl.on_state(truck.report(), now), now)
                if XMAP.node(truck.node).kind.value == "gate" and truck._held():
                    loop.checkpoint(truck, now)
                if truck.serial == mute and truck.node == at_node:
                    seen += 1
                    if seen == nth:
                        loop.deaf.add(mute)
                        muted = now
        now += 1.0
    return muted


def test_a_silent_truck_keeps_its_released_base_no_head_on() -> None:
    """Defect: a truck whose last state said "standing at PB" fell silent while driving on
    through S4b; it was taken out of the plan and an opposite-direction truck was released
    through S4b against it. A silent truck keeps every segment and place of its released base
    until a state proves where it is."""
    found, muted_at = [], []
    for south, north, node in ((1, 1, "PB"), (1, 2, "B0"), (1, 3, "P-S"), (2, 2, "PB")):
        runs = [_run(i, i % 2 == 0) for i in range(1, 9)]
        # silent after 10 s: taken out while it is still inside the block ahead
        loop = _loop(south, north, runs, settings=LinkSettings(silent_after_s=10.0))
        muted_at.append(_mute_run(loop, 2400, "T01", node))
        found += [f"T01 silent at {node}: {c}" for c in _conflicts(loop.trucks)]
        assert not loop.ctl.in_plan("T01")
    assert not any(math.isnan(t) for t in muted_at), muted_at
    assert not found, found


def test_a_run_failed_after_the_border_is_never_dispatched_again() -> None:
    """Defect: a truck taken out after crossing km 0 had its run put back in the pool with its
    clearance, and another truck crossed km 0 on the first truck's clearance."""
    loop = _loop(2, 0, [_run(1, True)])
    first = ""
    for now in range(0, 1500):
        loop.execute(loop.ctl.tick(float(now)), float(now))
        for truck in loop.trucks.values():
            if truck.alive and now % 10 == 0:
                loop.execute(loop.ctl.on_state(truck.report(), now), now)
            if truck.step(now, None):
                loop.execute(loop.ctl.on_state(truck.report(), now), now)
                if XMAP.node(truck.node).kind.value == "gate" and truck._held():
                    loop.checkpoint(truck, now)
        first = loop.ctl.run("R001").vehicle_id
        if first and loop.trucks[first].node == "PB":
            break
    assert first and loop.trucks[first].node == "PB", "the truck never crossed km 0"
    loop.trucks[first].alive = False
    loop.execute(loop.ctl.on_connection(first, "CONNECTIONBROKEN", 1500.0), 1500.0)
    assert loop.ctl.run("R001").state is RunState.FAILED
    other = "T02" if first == "T01" else "T01"
    record = loop.ctl.planner.runs["R001"]
    assert record.done and not record.truck, "the failed run went back to the pool"
    loop.run(3000, start_s=1501.0)
    assert loop.ctl.run("R001").state is RunState.FAILED
    assert loop.ctl.feed(other).run_id != "R001"
    assert not [e for e in loop.trucks[other].log if e[0] in ("S3", "S4a")], (
        "another truck drove to km 0 on the failed run"
    )


def test_a_closed_segment_reopens_by_operator_and_by_a_state_that_proves_the_truck_left() -> None:
    """Defect: a truck lost on a single-lane segment closed it for good; nothing reopened it."""
    loop = _loop(1, 1, [_run(1, True), _run(2, False)])
    loop.run(400)
    truck = loop.trucks["T01"]
    report = truck.report()
    broken = StateReport(**{**report.__dict__, "driving": True, "errors": ("breakdown: x",),
                            "error_levels": (("breakdown", "FATAL"),)})  # fmt: skip
    loop.execute(loop.ctl.on_state(broken, 401.0), 401.0)
    held = loop.ctl.closures("T01")
    assert "S4b" in held and "G-VN" in held, held  # the block ahead and where it would stand
    refused, message, _ = loop.ctl.clear_vehicle("T02", "nothing to clear", "op", 402.0)
    assert not refused and "T02" in message
    assert not loop.ctl.clear_vehicle("T01", "", "op1", 402.0)[0], "a reason is required"
    ok, message, cmds = loop.ctl.clear_vehicle("T01", "towed away, checked by camera", "op1", 402.0)
    assert ok, message
    assert loop.ctl.closures("T01") == ()
    assert any("towed away" in getattr(c, "reason", "") for c in cmds)
    loop.execute(cmds, 402.0)
    # the northbound run goes through S4b now that the lane is open again
    loop.run(2400, start_s=403.0)
    assert loop.ctl.run("R002").state is RunState.COMPLETED


def test_a_state_that_proves_where_a_lost_truck_stands_reopens_the_lane() -> None:
    loop = _loop(1, 1, [_run(1, True), _run(2, False)])
    loop.run(400)
    truck = loop.trucks["T01"]
    loop.execute(loop.ctl.on_connection("T01", "CONNECTIONBROKEN", 401.0), 401.0)
    assert "S4b" in loop.ctl.closures("T01")
    assert truck.node in ("B0", "PB"), truck.node  # before S4b, which is released to it
    truck.nodes, truck.edges, truck.arrive_s = [], [], math.inf  # it stopped there
    loop.execute(loop.ctl.on_state(truck.report(), 402.0), 402.0)
    assert loop.ctl.closures("T01") == (truck.node,), "proven standing: it keeps only its place"
    loop.execute(loop.ctl.on_connection("T01", "ONLINE", 403.0), 403.0)
    loop.execute(loop.ctl.on_state(truck.report(), 404.0), 404.0)
    assert loop.ctl.in_plan("T01"), "back online at a known place, it rejoins the plan"


def test_a_lost_truck_that_cannot_prove_where_it_stands_keeps_its_base() -> None:
    loop = _loop(1, 0, [_run(1, True)])
    loop.run(400)
    truck = loop.trucks["T01"]
    loop.execute(loop.ctl.on_connection("T01", "CONNECTIONBROKEN", 401.0), 401.0)
    loop.execute(loop.ctl.on_connection("T01", "ONLINE", 402.0), 402.0)
    truck.nodes, truck.edges, truck.arrive_s = [], [], math.inf
    report = StateReport(**{**truck.report().__dict__, "x_m": 0.0, "y_m": 0.0})  # not at PB
    loop.execute(loop.ctl.on_state(report, 403.0), 403.0)
    assert not loop.ctl.in_plan("T01")
    assert "S4b" in loop.ctl.closures("T01")


def test_a_truck_that_refuses_trigger_fails_its_run_and_the_corridor_flows() -> None:
    """Defect: a truck whose trigger was refused kept its released claims for ever."""
    runs = [_run(i, i % 2 == 0) for i in range(1, 9)]
    loop = _loop(2, 2, runs)
    refuser = "T01"
    original = loop.execute

    def execute(commands: list, now: float) -> None:
        kept = []
        for c in commands:
            if isinstance(c, SendInstantActions) and c.vehicle_id == refuser:
                for a in c.actions:
                    if a["actionType"] == "trigger":  # refused: FAILED, the wait goes on
                        loop.trucks[refuser].waiting[a["actionId"]] = "FAILED"
                        continue
                kept.append(SendInstantActions(c.vehicle_id, tuple(
                    a for a in c.actions if a["actionType"] != "trigger")))  # fmt: skip
            else:
                kept.append(c)
        original(kept, now)

    loop.execute = execute  # type: ignore[method-assign]
    loop.run(3 * 3600)
    refused = [r for r in loop.ctl.runs() if "refused trigger" in r.reason]
    assert refused and all(r.state is RunState.FAILED for r in refused), loop.ctl.runs()
    assert not loop.ctl.in_plan(refuser)
    done = [r for r in loop.ctl.runs() if r.state is RunState.COMPLETED]
    assert len(done) == len(runs) - len(refused), [
        (r.run_id, r.state.name) for r in loop.ctl.runs()
    ]
    assert not _conflicts(loop.trucks)
    assert loop.ctl.closures(refuser) == ("G-VN",) or loop.ctl.closures(refuser) == ("G-CN",)
    ok, _, cmds = loop.ctl.clear_vehicle(refuser, "trigger handling repaired", "op", 3 * 3600.0)
    assert ok
    loop.execute(cmds, 3 * 3600.0)
    loop.execute(loop.ctl.on_state(loop.trucks[refuser].report(), 3 * 3600.0 + 1), 3 * 3600.0 + 1)
    assert loop.ctl.in_plan(refuser), "cleared by an operator, it rejoins"


def test_an_update_from_the_gate_does_not_repeat_its_wait() -> None:
    from corridor_core.order_feed import OrderFeed

    feed = OrderFeed("T01")
    stops = ["Z-CN", "G-CN", "P-N", "P-S"]
    first = feed.start(MAP, "o1", "R1", stops, 1, 1, 0.0)
    waits = [a for n in first["nodes"] for a in n["actions"] if a["actionType"] == "waitForTrigger"]
    assert len(waits) == 1
    update = feed.extend(MAP, stops, 2, 1.0)  # stitching node: G-CN, where the wait is
    assert update["nodes"][0]["nodeId"] == "G-CN"
    assert not [
        a for n in update["nodes"] for a in n["actions"] if a["actionType"] == "waitForTrigger"
    ]


def test_a_truck_whose_factsheet_lacks_wait_for_trigger_gets_no_run() -> None:
    loop = _loop(1, 0, [])
    cmds = loop.ctl.on_factsheet("T01", frozenset({"pick", "drop", "cancelOrder"}), 1.0)
    assert any(isinstance(c, Problem) and "waitForTrigger" in c.text for c in cmds)
    loop.execute(cmds, 1.0)
    _, _, cmds = loop.ctl.submit(_run(1, True), 2.0)
    loop.execute(cmds, 2.0)
    loop.run(600, start_s=3.0)
    assert loop.ctl.run("R001").vehicle_id == ""
    assert not loop.ctl.in_plan("T01")


def test_online_asks_for_state_and_factsheet() -> None:
    ctl = FleetController(MAP, _fleet(1))
    cmds = ctl.on_connection("T01", "ONLINE", 0.0)
    kinds = [a["actionType"] for c in cmds if isinstance(c, SendInstantActions) for a in c.actions]
    assert kinds == ["stateRequest", "factsheetRequest"]


def test_a_truck_with_a_held_container_never_takes_it_across() -> None:
    """Defect (seen in the loop's checker): customs held a loaded truck's container at its
    gate, the truck was freed and sent empty across km 0 to the other yard, the held
    container still on board. It must take it back to its yard first."""
    loop = _loop(1, 0, [_run(1, True), _run(2, False)], hold={"R001"})
    loop.run(900)
    assert loop.ctl.run("R001").state is RunState.HELD
    _, _, cmds = loop.ctl.submit(_run(3, True), 900.0)
    loop.execute(cmds, 900.0)
    loop.run(4000, start_s=901.0)
    log = loop.trucks["T01"].log
    back = next((i for i, e in enumerate(log) if e[0] == "Y-CN" and e[1] == "N"), len(log))
    assert not [e for e in log[:back] if e[0] in ("S3", "S4a")], "crossed with a held container"
    assert loop.ctl.run("R003").state is RunState.COMPLETED
