"""SimPy baseline model of the reference corridor, for the simulator speed benchmark.

A faithful, event-driven SimPy (4.x) model of a map such as ``maps/tan-thanh-puzhai-2027.yaml``
under naive FIFO block signalling; every number (segments, speed limits, stations, servers,
service-time distributions, shares, exceptions, all-clear times) comes from the map.

* Workload: the stress preset of ``corridor_facts.md`` §4.5, 150 containers/h offered, 55 %
  southbound / 45 % northbound, Poisson arrivals into a backlog per yard; every container is
  already cleared. The window is always open (24 h).
* Fleet: ``trucks`` trucks of the map's first vehicle class, half starting at each yard. Each
  truck loops: take a container at its yard if one waits (backhaul), else drive empty to the
  other yard; crane lift at the origin (yard_handling station, sampled service + ``setup_s``);
  drive the route segment by segment at min(speed limit, vehicle max speed) plus a per-segment
  acceleration/braking penalty ``v/(2a) + v/(2b)``; at each node reached, visit the stations
  there that serve its direction (``share`` = probability of a visit, ``exception_probability``
  adds the exception service); crane unload at the destination.
* Single-lane (``single_alternating``) segments: one FIFO ``simpy.Resource(capacity=1)`` each,
  held while the truck drives the segment and for ``all_clear_s`` after it leaves (FIFO,
  one truck at a time; the truck itself does not wait for the clearance).
* Scanners and inspections act on containers, so only loaded trucks visit them; gates, the
  km-0 token and battery swap apply to every truck. Holding-slot limits of pockets and bays,
  following distances on dual lanes, breakdowns and time windows are not modelled.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from corridor_core.lane_map import LaneMap, LaneMode, StationKind
from corridor_core.map_io import load_map
from corridor_core.runs import Direction

STRESS_PER_H = 150.0  # containers/h offered (corridor_facts.md §4.5, stress preset)
SOUTH_SHARE = 0.55  # share of containers going southbound
CONTAINER_KINDS = (StationKind.SCANNER, StationKind.INSPECTION)  # visited only when loaded
DEFAULT_MAP = Path(__file__).resolve().parents[1] / "maps" / "tan-thanh-puzhai-2027.yaml"


@dataclass(frozen=True)
class Leg:
    """One segment as driven in one direction; times in seconds."""

    loaded_s: float  # driving time loaded (cruise + accel/brake penalty)
    empty_s: float  # driving time empty
    block: simpy.Resource | None  # single-lane block resource, None on dual lanes
    all_clear_s: float
    end_node: str


@dataclass(frozen=True)
class Stop:
    """A station a truck may visit, bound to its SimPy resource."""

    res: simpy.Resource
    service: Any  # corridor_core.distributions.Distribution
    setup_s: float
    share: float
    exc_p: float
    exc_service: Any  # Distribution | None
    loaded_only: bool


class CorridorModel:
    """The SimPy world: resources, backlogs and per-direction routes built from one map."""

    def __init__(self, lane_map: LaneMap, env: simpy.Environment, rng: np.random.Generator):
        self.env, self.rng, self.m = env, rng, lane_map
        vc = lane_map.vehicle_class()
        self.cn = lane_map.yard_of(lane_map.southbound_from)
        self.vn = lane_map.yard_of(lane_map.far_side())
        self.backlog = {self.cn: 0, self.vn: 0}
        self.loaded_trips = 0
        blocks = {
            s.segment_id: simpy.Resource(env, capacity=1)
            for s in lane_map.segments
            if s.lane_mode is LaneMode.SINGLE_ALTERNATING
        }
        res = {s.station_id: simpy.Resource(env, capacity=s.servers) for s in lane_map.stations}
        self.crane = {
            s.node: Stop(res[s.station_id], s.service_time_s, s.setup_s, 1.0, 0.0, None, False)
            for s in lane_map.stations
            if s.kind is StationKind.YARD_HANDLING
        }
        self.routes: dict[str, tuple[Direction, list[tuple[Leg, list[Stop]]]]] = {}
        for start, goal in ((self.cn, self.vn), (self.vn, self.cn)):
            legs = lane_map.route(start, goal)
            direction = legs[0].segment.direction_of(start, lane_map)
            plan: list[tuple[Leg, list[Stop]]] = []
            for leg in legs:
                seg = leg.segment
                v = min(seg.speed_limit_kph, vc.max_speed_kph) / 3.6
                brake = v / (2 * vc.braking_mps2)
                cruise = seg.length_m / v
                drive = Leg(
                    cruise + v / (2 * vc.accel_loaded_mps2) + brake,
                    cruise + v / (2 * vc.accel_empty_mps2) + brake,
                    blocks.get(seg.segment_id),
                    seg.all_clear_s,
                    leg.end_node,
                )
                stops = [
                    Stop(
                        res[s.station_id],
                        s.service_time_s,
                        s.setup_s,
                        s.share,
                        s.exception_probability,
                        s.exception_time_s,
                        s.kind in CONTAINER_KINDS,
                    )
                    for s in lane_map.stations_at(leg.end_node)
                    if direction in s.directions and s.kind is not StationKind.YARD_HANDLING
                ]
                plan.append((drive, stops))
            self.routes[start] = (direction, plan)

    def arrivals(self, yard: str, rate_per_h: float) -> Generator[simpy.Event, Any, None]:
        """Poisson arrivals of cleared containers into ``yard``'s backlog."""
        mean_gap_s = 3600.0 / rate_per_h
        while True:
            yield self.env.timeout(self.rng.exponential(mean_gap_s))
            self.backlog[yard] += 1

    def serve(self, stop: Stop) -> Generator[simpy.Event, Any, None]:
        """Queue FIFO for one server of ``stop`` and hold it for a sampled service time."""
        service = stop.service.sample(self.rng) + stop.setup_s
        if stop.exc_service is not None and self.rng.random() < stop.exc_p:
            service += stop.exc_service.sample(self.rng)
        with stop.res.request() as req:
            yield req
            yield self.env.timeout(service)

    def truck(self, yard: str) -> Generator[simpy.Event, Any, None]:
        """One truck looping between the yards forever."""
        env, rng = self.env, self.rng
        while True:
            loaded = self.backlog[yard] > 0
            if loaded:
                self.backlog[yard] -= 1
                yield from self.serve(self.crane[yard])  # lift at the origin
            _, plan = self.routes[yard]
            for leg, stops in plan:
                if leg.block is None:
                    yield env.timeout(leg.loaded_s if loaded else leg.empty_s)
                else:
                    req = leg.block.request()
                    yield req
                    yield env.timeout(leg.loaded_s if loaded else leg.empty_s)
                    # Block stays closed for all_clear_s after the truck leaves it.
                    clear = env.timeout(leg.all_clear_s)
                    clear.callbacks.append(lambda _e, b=leg.block, r=req: b.release(r))
                for stop in stops:
                    if (loaded or not stop.loaded_only) and (
                        stop.share >= 1.0 or rng.random() < stop.share
                    ):
                        yield from self.serve(stop)
                yard_now = leg.end_node
            if loaded:
                yield from self.serve(self.crane[yard_now])  # unload at the destination
                self.loaded_trips += 1
            yard = yard_now


def run_simpy_day(
    map_path: Path = DEFAULT_MAP, trucks: int = 40, hours: float = 24.0, seed: int = 1
) -> dict[str, Any]:
    """Simulate ``hours`` of the stress workload with ``trucks`` trucks under FIFO blocks.

    Returns ``{"loaded_trips", "events", "sim_hours"}``: containers delivered yard to yard
    and the number of SimPy events scheduled (an approximation of events processed).
    """
    lane_map = load_map(map_path)
    env = simpy.Environment()
    model = CorridorModel(lane_map, env, np.random.default_rng(seed))
    env.process(model.arrivals(model.cn, STRESS_PER_H * SOUTH_SHARE))
    env.process(model.arrivals(model.vn, STRESS_PER_H * (1.0 - SOUTH_SHARE)))
    for i in range(trucks):
        env.process(model.truck(model.cn if i % 2 == 0 else model.vn))
    env.run(until=hours * 3600.0)
    eid = getattr(env, "_eid", None)  # simpy's event-id counter: events scheduled so far
    out: dict[str, Any] = {"loaded_trips": model.loaded_trips, "sim_hours": hours}
    if eid is not None:
        out["events"] = next(eid)
    return out


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MAP
    t0 = time.perf_counter()
    result = run_simpy_day(path)
    wall = time.perf_counter() - t0
    print(
        f"SimPy corridor {path.name}: {result['loaded_trips']} loaded trips in "
        f"{result['sim_hours']:g} h ({result['loaded_trips'] / result['sim_hours']:.1f}/h), "
        f"{result.get('events', '?')} events, wall {wall:.3f} s"
    )
