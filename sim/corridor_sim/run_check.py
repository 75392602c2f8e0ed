"""Independent checker for simulator run directories (contract in ``docs/sim-outputs.md``).

Written from the file contract only: the inputs come through corridor_core's map and agreement
loaders and ``Agreement.may_enter``, and the limits are the one definition of each
(:mod:`corridor_core.interlock.limits`: standing places, lane room); no other code is shared
with the simulator or the planner.
Times compare as open intervals with a 1 us tolerance (touching is fine). Rules:

- ``opposite_directions``: on a ``single_alternating`` segment, opposite-direction rows overlap,
  or one enters less than ``all_clear_s`` after the other left.
- ``over_capacity``: more rows overlap on a resource than it holds: a node its
  ``standing_capacity`` (``holding_slots`` plus its stations' servers; yard, parking:
  unlimited); a station its ``servers``; a segment, per direction, its ``lane_room`` for the
  shortest vehicle (``lanes_per_direction * (floor(length_m / (length_m of the vehicle +
  standstill_gap_m)) + 1)``), and ``capacity_trucks`` in all when set. Rows under 1 us hold
  none.
- ``crossing_before_clearance``: ``border_s < clearance_s``, or never cleared (empty or ``inf``).
- ``crossing_outside_window``: ``may_enter(epoch + border_s, direction, before_border=False)``
  refuses (no agreement: always open).
- ``lane_not_empty_at_close``: a segment or node row (not yard/parking) spans an instant in
  ``[start_s, end_s]`` where some direction stops being allowed (window close, blackout start,
  holiday, end of validity) while its own direction is not allowed. Skipped when the agreement
  sets ``corridor_empty_at_close: false``.
- ``bad_row``: a row that cannot be read (fields, numbers, NaN, ``exit_s < enter_s``, unknown
  direction, resource kind or id); it takes no part in the other rules. ``exit_s`` may be
  ``inf`` (still held when the run stopped).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import json
import math
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from corridor_core.agreement import Agreement, load_agreement
from corridor_core.errors import CorridorError
from corridor_core.interlock.limits import UNBOUNDED_KINDS, lane_room, standing_capacity
from corridor_core.lane_map import LaneMap, LaneMode
from corridor_core.map_io import load_map
from corridor_core.runs import Direction

EPS_S = 1e-6
OCCUPANCY_COLUMNS = ("vehicle_id", "resource_id", "resource_kind", "direction", "enter_s", "exit_s")
CROSSING_COLUMNS = ("container_id", "vehicle_id", "direction", "clearance_s", "border_s")
OFF_LANE_KINDS = UNBOUNDED_KINDS
Row = TypeVar("Row")
OPPOSITE = {Direction.SOUTHBOUND: Direction.NORTHBOUND, Direction.NORTHBOUND: Direction.SOUTHBOUND}


@dataclass(frozen=True)
class Violation:
    """One broken rule; ``detail`` names the rows (file and line), ids and times involved."""

    rule: str
    detail: str


class RunDirError(CorridorError):
    """The run directory cannot be checked; the message names the missing or bad file."""


@dataclass(frozen=True, slots=True)
class Occupancy:
    """One valid ``occupancy.csv`` row; ``line`` is its 1-based line number in the file."""

    line: int
    vehicle_id: str
    resource_id: str
    resource_kind: str
    direction: Direction
    enter_s: float
    exit_s: float

    def label(self) -> str:
        """``V7 NORTHBOUND 10-20 s (line 4)``: what a violation detail names."""
        return (
            f"{self.vehicle_id} {self.direction.value} {self.enter_s:g}-{self.exit_s:g} s "
            f"(line {self.line})"
        )


@dataclass(frozen=True, slots=True)
class Crossing:
    """One valid ``crossings.csv`` row; ``clearance_s`` is ``inf`` when never cleared."""

    line: int
    container_id: str
    vehicle_id: str
    direction: Direction
    clearance_s: float
    border_s: float


ByResource = dict[tuple[str, str], list[Occupancy]]  # (resource_kind, resource_id) -> rows


@dataclass(frozen=True)
class RunInputs:
    """``scenario.json`` and the inputs it names; ``agreement`` None means always open."""

    lane_map: LaneMap
    agreement: Agreement | None
    epoch: dt.datetime
    start_s: float
    end_s: float


def load_inputs(run_dir: Path) -> RunInputs:
    """Read scenario.json, map and agreement. Raises RunDirError naming the bad file."""
    path = run_dir / "scenario.json"
    try:
        scenario = json.loads(path.read_text(encoding="utf-8"))
        epoch = dt.datetime.fromisoformat(scenario["epoch"])
        start_s, end_s = float(scenario["start_s"]), float(scenario["end_s"])
        map_file, agreement_file = scenario.get("map_file", "map.yaml"), scenario["agreement_file"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunDirError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from exc
    if epoch.tzinfo is None or epoch.utcoffset() is None:
        raise RunDirError(f"{path}: epoch {scenario['epoch']!r} has no UTC offset")
    try:  # NaN, infinity and instants past year 9999 raise
        _ = [epoch + dt.timedelta(seconds=s) for s in (start_s, end_s)]
        if start_s > end_s:
            raise ValueError("start_s > end_s")
    except (ValueError, OverflowError) as exc:
        raise RunDirError(f"{path}: bad start_s/end_s {start_s:g}/{end_s:g}: {exc}") from exc
    try:
        lane_map = load_map(run_dir / map_file)
        agreement = load_agreement(run_dir / agreement_file) if agreement_file else None
    except (CorridorError, OSError, TypeError) as exc:
        raise RunDirError(f"{run_dir}: map or agreement cannot be read: {exc}") from exc
    return RunInputs(lane_map, agreement, epoch, start_s, end_s)


def _seconds(text: str, allow_inf: bool) -> float:
    """A time in seconds; raises ValueError for NaN, or infinity unless ``allow_inf``."""
    value = float(text)
    if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
        raise ValueError(f"{text!r} is no finite time")
    return value


def _read_rows(
    path: Path,
    columns: tuple[str, ...],
    parse: Callable[[int, list[str]], Row],
    bad: list[Violation],
) -> tuple[list[Row], int]:
    """The rows ``parse`` accepts (given the line number and the ``columns`` in order) and the
    number of data lines. A garbled line or one ``parse`` refuses (ValueError) is a bad_row.

    Raises RunDirError when the file is missing or its header lacks a column.
    """
    try:
        lines = path.read_bytes().decode("utf-8-sig", errors="replace").split("\n")
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    header = [h.strip() for h in lines[0].rstrip("\r").split(",")]
    missing = [c for c in columns if c not in header]
    if missing:
        raise RunDirError(f"{path}: header lacks {', '.join(missing)} (need {','.join(columns)})")
    index = [header.index(c) for c in columns]
    rows, count = [], 0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        count += 1
        try:
            try:  # the csv module only where quoting makes plain splitting wrong
                fields = next(csv.reader([line])) if '"' in line else line.rstrip("\r").split(",")
            except csv.Error as exc:
                raise ValueError(f"garbled ({exc})") from None
            if len(fields) != len(header):
                raise ValueError(f"garbled ({len(fields)} fields, header has {len(header)})")
            rows.append(parse(number, [fields[i].strip() for i in index]))
        except ValueError as exc:
            bad.append(Violation("bad_row", f"{path.name} line {number}: {exc}"))
    return rows, count


def _occupancy_parser(lane_map: LaneMap) -> Callable[[int, list[str]], Occupancy]:
    known = {
        "segment": {s.segment_id for s in lane_map.segments},
        "node": {n.node_id for n in lane_map.nodes},
        "station": {s.station_id for s in lane_map.stations},
    }

    def parse(number: int, fields: list[str]) -> Occupancy:
        vehicle, resource, kind, direction, enter, leave = fields
        where = f"{vehicle} on {resource}"
        if not vehicle:
            raise ValueError("empty vehicle_id")
        if kind not in known:
            raise ValueError(f"{where}: unknown resource_kind {kind!r}")
        if resource not in known[kind]:
            raise ValueError(f"{where}: unknown {kind} id {resource!r}")
        enter_s, exit_s = _seconds(enter, False), _seconds(leave, True)
        if exit_s < enter_s:
            raise ValueError(f"{where}: exit_s {exit_s:g} < enter_s {enter_s:g}")
        return Occupancy(number, vehicle, resource, kind, Direction(direction), enter_s, exit_s)

    return parse


def _parse_crossing(number: int, fields: list[str]) -> Crossing:
    container, vehicle, direction, clearance, border = fields
    if not container or not vehicle:
        raise ValueError("empty container_id or vehicle_id")
    cleared = math.inf if clearance.lower() in ("", "inf", "+inf") else float(clearance)
    if math.isnan(cleared):
        raise ValueError(f"{container}: clearance_s {clearance!r} is NaN")
    border_s = _seconds(border, False)
    return Crossing(number, container, vehicle, Direction(direction), cleared, border_s)


def _check_opposite(by_resource: ByResource, lane_map: LaneMap) -> list[Violation]:
    """Report each row entering a single-lane segment in conflict with an earlier opposite row."""
    out = []
    for seg in lane_map.segments:
        if seg.lane_mode is not LaneMode.SINGLE_ALTERNATING:
            continue
        clear_s = seg.all_clear_s
        enters: dict[Direction, list[float]] = {d: [] for d in Direction}
        latest: dict[Direction, list[Occupancy]] = {d: [] for d in Direction}  # prefix max exit
        for row in sorted(
            by_resource.get(("segment", seg.segment_id), ()), key=lambda r: r.enter_s
        ):
            # Opposite rows seen so far that entered before this row's padded exit; the one
            # leaving last is the tightest test of "row.enter_s >= exit + all_clear_s".
            k = bisect.bisect_left(enters[OPPOSITE[row.direction]], row.exit_s + clear_s - EPS_S)
            if k:
                other = latest[OPPOSITE[row.direction]][k - 1]
                if row.enter_s < other.exit_s + clear_s - EPS_S:
                    gap_s = row.enter_s - other.exit_s
                    how = f"overlaps {other.label()}"
                    if gap_s > -EPS_S:
                        how = f"enters {gap_s:g} s after {other.label()} left ({clear_s=:g})"
                    detail = f"segment {seg.segment_id}: {row.label()} {how}"
                    out.append(Violation("opposite_directions", detail))
            own = latest[row.direction]
            own.append(row if not own or row.exit_s > own[-1].exit_s else own[-1])
            enters[row.direction].append(row.enter_s)
    return out


def _sweep(rows: list[Occupancy], capacity: int, what: str) -> list[Violation]:
    """Report each moment the number of overlapping rows first exceeds ``capacity``."""
    events = []
    for i, row in enumerate(rows):
        if row.exit_s - row.enter_s > EPS_S:
            events.append((row.enter_s, 1, i))
            events.append((row.exit_s - EPS_S, 0, i))  # exits first at ties: touching is fine
    events.sort()
    active: dict[int, Occupancy] = {}
    out = []
    for time_s, is_enter, i in events:
        if not is_enter:
            del active[i]
            continue
        if len(active) == capacity:
            others = "; ".join(r.label() for r in list(active.values())[:10])
            more = "; ..." if capacity > 10 else ""
            detail = (
                f"{what}: {rows[i].label()} makes {capacity + 1} trucks at {time_s:g} s, "
                f"capacity {capacity}; already there: {others}{more}"
            )
            out.append(Violation("over_capacity", detail))
        active[i] = rows[i]
    return out


def _check_capacity(by_resource: ByResource, lane_map: LaneMap) -> list[Violation]:
    out = []
    for station in lane_map.stations:
        rows = by_resource.get(("station", station.station_id), [])
        out += _sweep(rows, station.servers, f"station {station.station_id}")
    for node in lane_map.nodes:
        capacity = standing_capacity(lane_map, node.node_id)
        if not math.isinf(capacity):
            rows = by_resource.get(("node", node.node_id), [])
            out += _sweep(rows, int(capacity), f"node {node.node_id}")
    shortest_m = min(v.length_m for v in lane_map.vehicle_classes)
    for seg in lane_map.segments:
        rows = by_resource.get(("segment", seg.segment_id), [])
        room = lane_room(lane_map, seg.segment_id, shortest_m)
        for direction in Direction:
            own = [r for r in rows if r.direction is direction]
            what = f"segment {seg.segment_id} {direction.value}"
            out += _sweep(own, room, what)
        if seg.capacity_trucks is not None:
            what = f"segment {seg.segment_id} (capacity_trucks)"
            out += _sweep(rows, seg.capacity_trucks, what)
    return out


def _check_crossings(crossings: list[Crossing], inputs: RunInputs) -> list[Violation]:
    out = []
    for c in crossings:
        name = (
            f"crossings.csv line {c.line}: {c.container_id} on {c.vehicle_id} {c.direction.value}"
        )
        if c.border_s < c.clearance_s - EPS_S:
            cleared = f"{c.clearance_s:g} s" if math.isfinite(c.clearance_s) else "never"
            detail = f"{name} crossed at {c.border_s:g} s, {cleared} cleared"
            out.append(Violation("crossing_before_clearance", detail))
        if inputs.agreement is None:
            continue
        try:
            at = inputs.epoch + dt.timedelta(seconds=c.border_s)
        except OverflowError:
            out.append(Violation("bad_row", f"{name}: border_s {c.border_s:g} is out of range"))
            continue
        decision = inputs.agreement.may_enter(at, c.direction, before_border=False)
        if not decision.allowed:
            detail = f"{name} crossed at {c.border_s:g} s ({at.isoformat()}): {decision.reason}"
            out.append(Violation("crossing_outside_window", detail))
    return out


def close_instants(inputs: RunInputs) -> dict[float, frozenset[Direction]]:
    """Run seconds in [start_s, end_s] where some direction's entry stops being allowed
    (``before_border=False``), each with the directions not allowed at that instant.

    Candidates (window closes, blackout starts, holidays, end of validity, in their own clocks)
    are a superset; ``may_enter`` just before and at each one decides.
    """
    agreement = inputs.agreement
    if agreement is None or not agreement.corridor_empty_at_close:
        return {}
    first = inputs.epoch + dt.timedelta(seconds=inputs.start_s)
    last = inputs.epoch + dt.timedelta(seconds=inputs.end_s)
    found: set[dt.datetime] = set()
    stops = [(w.interval.time_zone, w.interval.close_min) for w in agreement.windows]
    for zone_name, minutes in stops + [(b.time_zone, b.open_min) for b in agreement.blackouts]:
        zone, step = ZoneInfo(zone_name), dt.timedelta(minutes=minutes)
        day = first.astimezone(zone).date() - dt.timedelta(days=2)
        while day <= last.astimezone(zone).date() + dt.timedelta(days=2):
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            found |= {midnight + step, midnight.astimezone(dt.UTC) + step}  # wall, elapsed
            day += dt.timedelta(days=1)
    zone_days = [(h.time_zone, h.date) for h in agreement.holidays]
    zone_days += [(agreement.time_zone, agreement.valid_until + dt.timedelta(days=1))]
    for zone_name, date in zone_days:
        found.add(dt.datetime.combine(date, dt.time(), tzinfo=ZoneInfo(zone_name)))
    closes = {}
    for at in (t for t in found if first <= t <= last):
        closed = frozenset(
            d for d in Direction if not agreement.may_enter(at, d, before_border=False).allowed
        )
        before = at - dt.timedelta(microseconds=1)
        if any(agreement.may_enter(before, d, before_border=False).allowed for d in closed):
            closes[(at - inputs.epoch).total_seconds()] = closed
    return closes


def _check_closes(rows: list[Occupancy], inputs: RunInputs) -> list[Violation]:
    closes = close_instants(inputs)
    times = sorted(closes)
    off_lane = {n.node_id for n in inputs.lane_map.nodes if n.kind in OFF_LANE_KINDS}
    out = []
    for row in rows:
        if row.resource_kind == "station" or row.resource_id in off_lane:
            continue
        i = bisect.bisect_right(times, row.enter_s + EPS_S)
        while i < len(times) and times[i] < row.exit_s - EPS_S:
            if row.direction in closes[times[i]]:
                at = inputs.epoch + dt.timedelta(seconds=times[i])
                where = f"{row.resource_kind} {row.resource_id}: {row.label()}"
                detail = f"{where} spans the close at {times[i]:g} s ({at.isoformat()})"
                out.append(Violation("lane_not_empty_at_close", detail))
            i += 1
    return out


def _check(run_dir: Path) -> tuple[list[Violation], int, int]:
    """The violations and the numbers of occupancy and crossing data rows read."""
    inputs = load_inputs(run_dir)
    bad: list[Violation] = []
    parse = _occupancy_parser(inputs.lane_map)
    rows, n_occupancy = _read_rows(run_dir / "occupancy.csv", OCCUPANCY_COLUMNS, parse, bad)
    crossings, n_crossings = _read_rows(
        run_dir / "crossings.csv", CROSSING_COLUMNS, _parse_crossing, bad
    )
    by_resource: ByResource = defaultdict(list)
    for row in rows:
        by_resource[row.resource_kind, row.resource_id].append(row)
    violations = (
        bad
        + _check_opposite(by_resource, inputs.lane_map)
        + _check_capacity(by_resource, inputs.lane_map)
        + _check_crossings(crossings, inputs)
        + _check_closes(rows, inputs)
    )
    return violations, n_occupancy, n_crossings


def check_run(run_dir: Path) -> list[Violation]:
    """All violations in a run directory: bad rows first, then the rules in the order above.

    Raises:
        RunDirError: a file is missing, or scenario/map/agreement/CSV header is unreadable.
    """
    return _check(Path(run_dir))[0]


def main(argv: list[str] | None = None) -> int:
    """``corridor sim check DIR``: exit 0 clean, 1 violations, 2 unreadable directory."""
    parser = argparse.ArgumentParser(description="Check a simulator run directory.")
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        violations, occupancy_rows, crossing_rows = _check(args.run_dir)
    except RunDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for v in violations:
        print(f"{v.rule}: {v.detail}")
    if violations:
        return 1
    print(f"OK: {occupancy_rows} occupancy rows, {crossing_rows} crossings checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
