"""The simulator's occupancy and crossing rows, rebuilt from what trucks said over VDA 5050.

Pure: recorded MQTT messages in (the records of :mod:`corridor_links.recorder`), rows out in
the formats of ``docs/sim-outputs.md``, so the independent checker
(:mod:`corridor_sim.run_check`) can judge a run of the real stack as it judges a simulation.
Only the trucks' ``state`` messages and the controller's ``order`` messages are read:

- a truck's ``lastNodeId`` moving from A to B is a ``segment`` row on the map's segment the
  order's edge A→B drives (its ``edgeId`` names the segment, or the map's segment between A and
  B), from the first state at A with ``driving: true`` to the first state at B;
- standing at a node that is not a yard or parking, from the first state there to the first
  with ``driving: true``, is a ``node`` row (rolling through, zero time, is none);
- an ``information`` entry of type STATION_SERVICE (references ``stationId``, ``direction``)
  is a ``station`` row for as long as the truck reports it;
- reaching a ``border_point`` node with ``loads`` is a crossing row per load (``loadId`` is the
  container number); its clearance time is looked up by (container, truck) in the clearances
  given, never cleared when absent;
- loads gone at a yard are deliveries; a load's yard departure to its arrival at another yard
  is a yard-to-yard time.

Times are the states' header ``timestamp`` (the record's arrival time ``t`` when it has none)
on the loop's simulated clock (:class:`LoopClock`). Within a truck, a state whose ``headerId``
is not above the last one's is stale (duplicate or overtaken) and skipped. A row still open at
the end of the recording ends at ``inf`` (still held).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corridor_core.errors import ProtocolError
from corridor_core.interlock.stop_lines import is_stop_line, parent_segment
from corridor_core.lane_map import LaneMap, NodeKind
from corridor_core.runs import Direction
from corridor_core.vda5050 import parse_topic

OFF_LANE = (NodeKind.YARD, NodeKind.PARKING)
STATION_SERVICE = "STATION_SERVICE"

# (vehicle_id, resource_id, resource_kind, direction, enter_s, exit_s)
OccupancyRow = tuple[str, str, str, str, float, float]
# (container_id, vehicle_id, direction, clearance_s, border_s)
CrossingRow = tuple[str, str, str, float, float]


@dataclass(frozen=True)
class LoopClock:
    """The loop's simulated clock: ``time_scale`` simulated seconds per wall-clock second,
    0 at wall-clock instant ``t0_epoch_s`` (Unix seconds)."""

    t0_epoch_s: float
    time_scale: float

    def sim_s(self, epoch_s: float) -> float:
        """Simulated seconds at the wall-clock instant ``epoch_s``, to the microsecond (the
        stamps have milliseconds; rounding keeps equal instants equal and order unchanged)."""
        return round(round(epoch_s - self.t0_epoch_s, 6) * self.time_scale, 6)


@dataclass(frozen=True)
class Delivery:
    """A load taken off a truck at a yard."""

    container_id: str
    vehicle_id: str
    direction: Direction
    at_s: float


@dataclass
class LoopRows:
    """What the converter built, and what it could not place."""

    occupancy: list[OccupancyRow] = field(default_factory=list)
    crossings: list[CrossingRow] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    yard_to_yard_s: list[tuple[float, float]] = field(default_factory=list)  # (left, arrived)
    states: int = 0
    stale_states: int = 0
    unordered_moves: list[str] = field(default_factory=list)  # moves along no ordered edge


@dataclass
class _Truck:
    header_id: int = -1
    node: str = ""
    came_from: str = ""
    arrived_s: float = -math.inf
    departed_s: float | None = None
    ahead: str = ""  # the next node, as the departure state said
    stop_line_s: float | None = None  # first reported at a stop line of the segment it is on
    loads: tuple[str, ...] = ()
    left_yard: tuple[float, tuple[str, ...]] | None = None
    station: tuple[str, str, float] | None = None  # station, direction, since
    edges: dict[tuple[str, str], str] = field(default_factory=dict)  # (start, end) -> edgeId


def _epoch(record: Mapping[str, Any], payload: Mapping[str, Any]) -> float:
    stamp = payload.get("timestamp")
    if isinstance(stamp, str):
        try:
            return dt.datetime.fromisoformat(stamp).timestamp()
        except ValueError:
            pass
    return float(record["t"])


def _station(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    for info in payload.get("information") or []:
        if not isinstance(info, dict) or info.get("infoType") != STATION_SERVICE:
            continue
        refs = {
            r.get("referenceKey"): r.get("referenceValue")
            for r in info.get("infoReferences") or []
            if isinstance(r, dict)
        }
        if isinstance(refs.get("stationId"), str):
            return str(refs["stationId"]), str(refs.get("direction", ""))
    return None


def _loads(payload: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        str(x["loadId"])
        for x in payload.get("loads") or []
        if isinstance(x, dict) and isinstance(x.get("loadId"), str)
    )


class RowBuilder:
    """The rows of :func:`rows_from_records`, built message by message: feed it the orders
    (:meth:`order`) and states (:meth:`state`, with their simulated second) as they happen,
    then :meth:`finish`. ``clearances`` is read when a crossing is seen, so it may be filled
    while the run goes on."""

    def __init__(
        self, lane_map: LaneMap, clock: LoopClock, clearances: Mapping[tuple[str, str], float]
    ) -> None:
        self.lane_map = lane_map
        self.clock = clock
        self.clearances = clearances
        self.out = LoopRows()
        self.trucks: dict[str, _Truck] = {}
        self.segment_ids = {s.segment_id for s in lane_map.segments}
        self.between = {
            frozenset((s.from_node, s.to_node)): s.segment_id for s in lane_map.segments
        }

    def _direction(self, a: str, b: str) -> Direction | None:
        lm = self.lane_map
        if a == b or not (lm.has_node(a) and lm.has_node(b)):
            return None
        return lm.direction_between(lm.node(a), lm.node(b))

    def _off_lane(self, node: str) -> bool:
        return not self.lane_map.has_node(node) or self.lane_map.node(node).kind in OFF_LANE

    def order(self, serial: str, payload: Mapping[str, Any]) -> None:
        truck = self.trucks.setdefault(serial, _Truck())
        for edge in payload.get("edges") or []:
            if isinstance(edge, dict):
                key = (str(edge.get("startNodeId")), str(edge.get("endNodeId")))
                edge_id = str(edge.get("edgeId", ""))
                truck.edges[key] = edge_id
                seg = parent_segment(edge_id)
                if (is_stop_line(key[0]) or is_stop_line(key[1])) and seg in self.segment_ids:
                    # a part of a segment cut at its stop lines: the segment's ends, either way
                    whole = self.lane_map.segment(seg)
                    truck.edges[(whole.from_node, whole.to_node)] = seg
                    truck.edges[(whole.to_node, whole.from_node)] = seg

    def _segment(self, serial: str, truck: _Truck, a: str, b: str) -> str | None:
        edge_id = truck.edges.get((a, b))
        if edge_id is None:
            self.out.unordered_moves.append(f"{serial} {a}->{b}")
        elif edge_id.split(":")[0] in self.segment_ids:
            return edge_id.split(":")[0]
        return self.between.get(frozenset((a, b)))

    def state(self, serial: str, payload: Mapping[str, Any], t_s: float) -> None:
        truck = self.trucks.setdefault(serial, _Truck())
        header = payload.get("headerId")
        if not isinstance(header, int) or header <= truck.header_id:
            self.out.stale_states += 1
            return
        truck.header_id = header
        self.out.states += 1
        node, driving = payload.get("lastNodeId"), payload.get("driving") is True
        if not isinstance(node, str) or not node:
            return
        if is_stop_line(node):  # waiting in its lane: still on the segment it entered
            if not truck.node:
                return
            if truck.stop_line_s is None and truck.departed_s is not None:
                truck.stop_line_s = t_s
            node = truck.node
        elif node == truck.node and truck.stop_line_s is not None:
            self._came_back(serial, truck, t_s)  # turned back at a stop line
        if not truck.node:
            truck.node, truck.arrived_s = node, t_s
        elif node != truck.node:
            self._moved(serial, truck, node, t_s)
        if driving and truck.departed_s is None:
            self._departed(serial, truck, payload, t_s)
        self._track_station(serial, truck, payload, t_s)
        self._track_loads(serial, truck, _loads(payload), t_s)

    def _departed(self, serial: str, truck: _Truck, payload: Mapping[str, Any], t_s: float) -> None:
        truck.departed_s = t_s
        pending = [
            n.get("nodeId")
            for n in payload.get("nodeStates") or []
            if isinstance(n, dict) and not is_stop_line(str(n.get("nodeId")))
        ]
        ahead = truck.ahead = str(pending[0]) if pending else ""
        d = self._direction(truck.node, ahead) or self._direction(truck.came_from, truck.node)
        if not self._off_lane(truck.node) and t_s > truck.arrived_s and d is not None:
            self._row(serial, truck.node, "node", d, truck.arrived_s, t_s)
        if truck.loads and self._is_yard(truck.node):
            truck.left_yard = (t_s, truck.loads)

    def _is_yard(self, node: str) -> bool:
        return self.lane_map.has_node(node) and self.lane_map.node(node).kind is NodeKind.YARD

    def _came_back(self, serial: str, truck: _Truck, t_s: float) -> None:
        """The truck drove onto a segment, stopped at its stop line and came back to the node
        it had left: on the segment in its lane out until now, and in the other lane from its
        first report at the stop line until now (both held: the time it turned is unknown)."""
        out_d = self._direction(truck.node, truck.ahead)
        seg = self._segment(serial, truck, truck.node, truck.ahead) if truck.ahead else None
        if seg is not None and out_d is not None and truck.departed_s is not None:
            back_d = Direction.NORTHBOUND if out_d is Direction.SOUTHBOUND else Direction.SOUTHBOUND
            self._row(serial, seg, "segment", out_d, truck.departed_s, t_s)
            self._row(serial, seg, "segment", back_d, truck.stop_line_s or t_s, t_s)
        truck.arrived_s, truck.departed_s, truck.stop_line_s = t_s, None, None

    def _moved(self, serial: str, truck: _Truck, node: str, t_s: float) -> None:
        truck.stop_line_s = None
        a = truck.node
        d = self._direction(a, node)
        enter_s = truck.departed_s if truck.departed_s is not None else truck.arrived_s
        segment = self._segment(serial, truck, a, node)
        if segment is not None and d is not None:
            self._row(serial, segment, "segment", d, enter_s, t_s)
        if truck.departed_s is None and not self._off_lane(a) and d is not None:
            self._row(serial, a, "node", d, truck.arrived_s, enter_s)  # left unseen: no time
        truck.came_from, truck.node, truck.arrived_s, truck.departed_s = a, node, t_s, None
        kind = self.lane_map.node(node).kind if self.lane_map.has_node(node) else None
        if kind is NodeKind.BORDER_POINT and d is not None:
            for load in truck.loads:
                cleared = self.clearances.get((load, serial), math.inf)
                self.out.crossings.append((load, serial, d.value, cleared, t_s))
        if kind is NodeKind.YARD and truck.left_yard is not None:
            left_s, loads = truck.left_yard
            if set(loads) & set(truck.loads):
                self.out.yard_to_yard_s.append((left_s, t_s))
            truck.left_yard = None

    def _track_station(
        self, serial: str, truck: _Truck, payload: Mapping[str, Any], t_s: float
    ) -> None:
        now = _station(payload)
        held = truck.station
        if held is not None and (now is None or now != held[:2]):
            station, direction, since = held
            if direction in (Direction.SOUTHBOUND.value, Direction.NORTHBOUND.value):
                self._row(serial, station, "station", Direction(direction), since, t_s)
            truck.station = None
        if now is not None and truck.station is None:
            truck.station = (now[0], now[1], t_s)

    def _track_loads(self, serial: str, truck: _Truck, loads: tuple[str, ...], t_s: float) -> None:
        gone = [x for x in truck.loads if x not in loads]
        if gone and self._is_yard(truck.node):
            d = self._direction(truck.came_from, truck.node) or Direction.SOUTHBOUND
            self.out.deliveries += [Delivery(x, serial, d, t_s) for x in gone]
        truck.loads = loads

    def _row(
        self, serial: str, resource: str, kind: str, d: Direction, enter_s: float, exit_s: float
    ) -> None:
        self.out.occupancy.append((serial, resource, kind, d.value, enter_s, exit_s))

    def finish(self) -> LoopRows:
        """Close what is still held: rows to ``inf``."""
        for serial, truck in sorted(self.trucks.items()):
            if not truck.node:
                continue
            if truck.departed_s is None and not self._off_lane(truck.node):
                d = self._direction(truck.came_from, truck.node)
                if d is not None:
                    self._row(serial, truck.node, "node", d, truck.arrived_s, math.inf)
            elif truck.departed_s is not None and truck.ahead:  # on its way to the next node
                d = self._direction(truck.node, truck.ahead)
                seg = self._segment(serial, truck, truck.node, truck.ahead)
                if seg is not None and d is not None:
                    self._row(serial, seg, "segment", d, truck.departed_s, math.inf)
            if truck.station is not None:
                station, direction, since = truck.station
                if direction in (Direction.SOUTHBOUND.value, Direction.NORTHBOUND.value):
                    self._row(serial, station, "station", Direction(direction), since, math.inf)
        self.out.occupancy.sort(key=lambda r: (r[4], r[0], r[1]))
        self.out.crossings.sort(key=lambda r: (r[4], r[0]))
        return self.out


def rows_from_records(
    records: Iterable[Mapping[str, Any]],
    lane_map: LaneMap,
    clock: LoopClock,
    clearances: Mapping[tuple[str, str], float] | None = None,
    manufacturer: str | None = None,
    end_s: float = math.inf,
) -> LoopRows:
    """Occupancy and crossing rows from recorded VDA 5050 messages, in recording order.

    Args:
        records: ``{"t", "topic", "payload", ...}`` mappings (``read_records`` gives them).
        lane_map: the map the trucks drove.
        clock: the loop's simulated clock.
        clearances: (container number, truck serial) -> simulated second customs cleared it.
        manufacturer: only this manufacturer's trucks (None: every one).
        end_s: states after this simulated second are not read (what is held then stays open).
    """
    conv = RowBuilder(lane_map, clock, clearances or {})
    for record in records:
        payload = record.get("payload")
        if not isinstance(payload, dict) or not isinstance(record.get("topic"), str):
            continue
        try:
            maker, serial, kind = parse_topic(str(record["topic"]))
        except ProtocolError:
            continue
        if manufacturer is not None and maker != manufacturer:
            continue
        if kind == "order":
            conv.order(serial, payload)
        elif kind == "state":
            t_s = clock.sim_s(_epoch(record, payload))
            if t_s <= end_s:
                conv.state(serial, payload, t_s)
    return conv.finish()
