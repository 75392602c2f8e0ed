"""The planner: dispatch, timed routes for every truck, and incremental re-planning on events.

State: trucks (where they are, whether they are available), runs (ready, due, clearance,
urgency), and per truck a queue of planned trips whose first trip may be under way. Each trip's
*released base* (what the vehicle link has sent as released nodes) ends at the first release
point (gate or holding place) ahead of the truck; the rest is the *horizon*. Events re-plan only
the horizons of the trucks they touch; a released base is never changed.

Dispatch is rolling: a truck that has nothing planned takes an urgent run if there is one, else
the most pressing (earliest due, then earliest ready) run that starts where it stands (a
backhaul: no empty kilometres), else drives empty to the most pressing run elsewhere. New trips
of one round are planned grouped by direction, so trucks released together cross single-lane
blocks as platoons.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from corridor_core.capacity import plan_group, single_lane_groups
from corridor_core.interlock.limits import DEFAULT_PLATOON_CAP
from corridor_core.lane_map import LaneMap, RouteLeg, StationKind, VehicleClass
from corridor_core.planning.reservations import Blockage, Pass, ReservationTable, Service, Stay
from corridor_core.planning.router import CORRIDOR, Controller, Router, TimedStop, Trip
from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import ContainerRun, Direction


@dataclass
class TruckState:
    """What the planner knows of one truck."""

    truck: str
    node: str  # last node reached
    at_s: float  # when it got there
    available: bool = True
    trips: list[Trip] = field(default_factory=list)  # planned, first may be under way
    position: int = 0  # index of the last stop reached in trips[0]
    released: int = 0  # index of the last released stop in trips[0]
    runs_since_swap: int = 0  # one-way trips since the last battery swap
    held: bool = False  # its trip stops short of the destination until a blockage lifts
    # it carries a container customs held: its next run must start at this yard (where it
    # sets the container down), so it never takes the container across the border
    return_to: str = ""
    # it turned back short of the border with this run's container: the run waits for the
    # truck to set the container down in ``return_to``, then goes back to the pool
    returning_run: str = ""


@dataclass
class RunRecord:
    """What the planner knows of one run."""

    run: ContainerRun
    cleared_s: float  # inf while not cleared
    urgent: bool = False
    truck: str = ""
    done: bool = False


@dataclass(frozen=True)
class TruckPlanView:
    """The plan of one truck as the vehicle link needs it."""

    truck: str
    trips: tuple[Trip, ...]
    base: tuple[TimedStop, ...]  # released stops of the first trip
    horizon: tuple[TimedStop, ...]  # the rest of the first trip


class Planner:
    """Planning state for one corridor. Pure and deterministic; drive it from one thread."""

    def __init__(
        self,
        lane_map: LaneMap,
        calendar: WindowCalendar,
        controller: Controller = CORRIDOR,
        vehicle: VehicleClass | None = None,
        wave_s: float | str | None = "auto",
    ) -> None:
        """``wave_s``: departure wave period in seconds, None for none, "auto" for
        :func:`default_wave_s` under the corridor controller and none under the baselines."""
        self.lane_map = lane_map
        # A position report re-plans the truck when it is this much late (or early).
        self.late_tolerance_s = 1.0
        self.early_tolerance_s = 1.0
        # True: the released base grows by itself as the truck reaches nodes (simulator).
        # False: a vehicle link releases pieces with :meth:`release_through` when it sends them.
        self.auto_release = True
        self.vehicle = vehicle or lane_map.vehicle_class()
        self.router = Router(lane_map, self.vehicle, controller, calendar)
        self.table = ReservationTable()
        self.trucks: dict[str, TruckState] = {}
        self.runs: dict[str, RunRecord] = {}
        # the runs not yet done (a done run never comes back), most pressing first (see
        # :func:`_pressing`): dispatch looks only at these
        self._open: list[tuple[tuple[bool, float, float, str], RunRecord]] = []
        self._open_done = 0  # runs done since the index was last pruned
        self._routes: dict[tuple[str, str], list[RouteLeg]] = {}
        # Departure waves (corridor controller): see :func:`default_wave_s`.
        self.wave_s: float | None
        if wave_s == "auto":
            # the baselines dispatch as trucks come free
            auto = controller.name == CORRIDOR.name
            self.wave_s = default_wave_s(lane_map, self.vehicle) if auto else None
        else:
            self.wave_s = None if wave_s is None else float(wave_s)
        self._waiting: list[tuple[str, RunRecord, float]] = []  # (truck, run, wave departure)
        self.lift_s = {
            st.node: st.mean_occupancy_s(with_exceptions=False)
            for st in lane_map.stations
            if st.kind is StationKind.YARD_HANDLING
        }
        self.swaps = {
            st.node: (st.station_id, st.servers, st.service_time_s.mean_s)
            for st in lane_map.stations
            if st.kind is StationKind.BATTERY_SWAP
        }
        self.cranes = {
            st.node: (st.station_id, st.servers)
            for st in lane_map.stations
            if st.kind is StationKind.YARD_HANDLING
        }

    # --- queries ---------------------------------------------------------------------------
    @property
    def calendar(self) -> WindowCalendar:
        """The window calendar in force."""
        return self.router.calendar

    def route(self, a: str, b: str) -> list[RouteLeg]:
        """Cached shortest route."""
        key = (a, b)
        if key not in self._routes:
            self._routes[key] = self.lane_map.route(a, b)
        return self._routes[key]

    def open_runs(self) -> list[RunRecord]:
        """The runs not yet done (assigned or not), in dispatch order."""
        self._prune_open()
        return [r for _, r in self._open if not r.done]

    def all_trips(self) -> list[Trip]:
        """Every planned trip of every truck."""
        return [t for s in self.trucks.values() for t in s.trips]

    def view(self, truck: str) -> TruckPlanView:
        """Base and horizon of a truck's current trip."""
        state = self.trucks[truck]
        if not state.trips:
            return TruckPlanView(truck, (), (), ())
        first = state.trips[0]
        return TruckPlanView(
            truck,
            tuple(state.trips),
            first.stops[: state.released + 1],
            first.stops[state.released + 1 :],
        )

    def bases(self) -> dict[str, tuple[tuple[str, float], ...]]:
        """Released base of every truck as (node, arrival) pairs, for invariance checks."""
        return {
            t: tuple((s.node_id, round(s.arrive_s, 6)) for s in self.view(t).base)
            for t in sorted(self.trucks)
        }

    # --- events ----------------------------------------------------------------------------
    def add_truck(self, truck: str, node: str, now_s: float, trips_since_swap: int = 0) -> None:
        """A truck joins at ``node`` (a yard), ``trips_since_swap`` one-way trips after its
        last battery swap (0: a fresh battery).

        Raises:
            ValueError: when a truck with this id is already in service.
        """
        if truck in self.trucks:
            raise ValueError(f"truck {truck!r} is already in service")
        self.trucks[truck] = TruckState(truck, node, now_s, runs_since_swap=trips_since_swap)
        self.dispatch(now_s)

    def remove_truck(self, truck: str, now_s: float) -> None:
        """A truck leaves service (breakdown, maintenance): every run assigned to it and not
        delivered goes back to the pool, and its reservations are released."""
        self.trucks.pop(truck)
        self.table.drop(truck)
        self._forget_waiting(lambda t, _: t == truck)
        for rec in self.runs.values():
            if rec.truck == truck and not rec.done:
                rec.truck = ""
        self.dispatch(now_s)

    def add_run(
        self, run: ContainerRun, now_s: float, cleared_s: float | None = None, urgent: bool = False
    ) -> None:
        """A new container run; it is dispatched once it is cleared (``cleared_s``)."""
        rec = RunRecord(run, math.inf if cleared_s is None else cleared_s, urgent)
        if run.run_id in self.runs:  # a run added again replaces the earlier record
            self._open = [(k, r) for k, r in self._open if r.run.run_id != run.run_id]
        self.runs[run.run_id] = rec
        insort(self._open, (_pressing(rec), rec), key=lambda e: e[0])
        self.dispatch(now_s)

    def set_clearance(self, run_id: str, cleared: bool, now_s: float) -> None:
        """Customs released (or put a hold on) a run."""
        rec = self.runs[run_id]
        rec.cleared_s = now_s if cleared else math.inf
        if not cleared:
            self._forget_waiting(lambda _, r: r.run.run_id == run_id)
        if cleared and rec.truck and rec.truck in self.trucks and self.trucks[rec.truck].held:
            self._replan_trucks({rec.truck}, now_s)
        if not cleared and rec.truck:
            state = self.trucks.get(rec.truck)
            if state and state.trips and state.trips[0].run_id == run_id:
                trip = state.trips[0]
                crossed = trip.border_s is not None and trip.border_s <= now_s
                if not crossed:
                    self._replan_trucks({rec.truck}, now_s)
        self.dispatch(now_s)

    def report_position(self, truck: str, node: str, now_s: float) -> None:
        """The truck reached ``node`` at ``now_s`` (early or late): re-time from there."""
        state = self.trucks[truck]
        if not state.trips:
            state.node, state.at_s = node, now_s
            return
        trip = state.trips[0]
        index = next(
            (i for i in range(state.position, len(trip.stops)) if trip.stops[i].node_id == node),
            None,
        )
        if index is None:
            return
        state.position = index
        state.node, state.at_s = node, now_s
        if node == state.return_to:
            state.return_to = ""  # the held container is back in its yard
            if state.returning_run in self.runs:
                self.runs[state.returning_run].truck = ""  # back to the pool
            state.returning_run = ""
        planned = trip.stops[index].arrive_s
        if index == len(trip.stops) - 1 and node == trip.destination:
            self._finish_trip(state, now_s)
            self.dispatch(now_s)
            return
        self._extend_release(state)
        if now_s - planned > self.late_tolerance_s or planned - now_s > self.early_tolerance_s:
            self._replan_trucks({truck}, now_s)

    def next_release_index(self, truck: str) -> int | None:
        """Index in the first trip of the release point after the released base's end (the
        trip's last stop if none comes before); None when the whole trip is released."""
        state = self.trucks[truck]
        if not state.trips:
            return None
        stops = state.trips[0].stops
        if state.released >= len(stops) - 1:
            return None
        return next(
            (i for i in range(state.released + 1, len(stops)) if stops[i].release_point),
            len(stops) - 1,
        )

    def release_through(self, truck: str, index: int) -> None:
        """The vehicle link sent the first trip's stops up to ``index`` as released: from now
        on re-plans keep them. Never shrinks the base.

        Raises:
            ValueError: when ``index`` is outside the first trip.
        """
        state = self.trucks[truck]
        if not state.trips or not 0 <= index < len(state.trips[0].stops):
            raise ValueError(f"truck {truck!r} has no stop {index} in its current trip")
        state.released = max(state.released, index)

    def withdraw_run(self, run_id: str, now_s: float, even_if_crossed: bool = False) -> None:
        """A run leaves the plan for good (held by customs, cancelled, failed).

        A truck that has not yet crossed the border with it ends its drive at the end of its
        released base (or at once, when nothing is released) and is free for other work.
        A run already across the border is left to finish, unless ``even_if_crossed`` (its
        truck failed: the run is done and never goes back to the pool).
        """
        rec = self.runs.get(run_id)
        if rec is None or rec.done:
            return
        self._forget_waiting(lambda _, r: r.run.run_id == run_id)
        state = self.trucks.get(rec.truck) if rec.truck else None
        index = (
            next((i for i, t in enumerate(state.trips) if t.run_id == run_id), None)
            if state
            else None
        )
        if state is not None and index is not None:
            if index == 0 and self._crossed(state) and not even_if_crossed:
                return
            self._cut_trips(state, index, now_s)
        rec.done = True
        self._open_done += 1
        rec.truck = ""
        self.dispatch(now_s)

    def turn_back(self, truck: str, yard: str, now_s: float, with_run: bool) -> bool:
        """The truck, standing at the end of its released base short of the border, gives up
        its trip and drives back to ``yard`` on a trip of its own (no run), planned now.

        Its first trip's run stays with it while ``with_run`` (its container is on board) until
        it reaches ``yard``, then goes back to the pool; otherwise (and for its later trips) the
        run goes back to the pool at once. False (nothing changed) when the truck is not
        standing at its base end before the border, or no trip back can be planned now.
        """
        state = self.trucks.get(truck)
        if state is None or not state.trips or state.position != state.released:
            return False
        first = state.trips[0]
        if self._crossed(state):
            return False
        node = first.stops[state.position].node_id
        legs = self.route(node, yard)
        if not legs:
            return False
        self.table.drop(truck)
        back = self.router.plan(self.table, truck, legs, now_s, mid_trip=True)
        if back is None:
            self.table.drop(truck)
            for trip in state.trips:
                trip.reserve(self.table)
            return False
        self._forget_waiting(lambda t, _: t == truck)
        for i, trip in enumerate(state.trips):
            if trip.run_id and trip.run_id in self.runs:
                keep = i == 0 and with_run
                self.runs[trip.run_id].truck = truck if keep else ""
                if keep:
                    state.returning_run, state.return_to = trip.run_id, yard
        back.reserve(self.table)
        state.node, state.at_s = node, now_s
        state.trips, state.position, state.released, state.held = [back], 0, 0, False
        self._extend_release(state)
        self.dispatch(now_s)
        return True

    def _crossed(self, state: TruckState) -> bool:
        """The truck has reached its first trip's border point."""
        return self._crossed_by(state.trips[0], state.position)

    def _crossed_by(self, trip: Trip, index: int) -> bool:
        border = self.router.border_nodes
        return any(s.node_id in border for s in trip.stops[: index + 1])

    def _cut_trips(self, state: TruckState, index: int, now_s: float) -> None:
        """Drop trip ``index`` and every later one; a first trip under way ends at its base."""
        for trip in state.trips[index:]:
            if trip.run_id and trip.run_id in self.runs:
                self.runs[trip.run_id].truck = ""
        if index > 0:
            state.trips = state.trips[:index]
            self.table.drop(state.truck, keep=self._kept(state))
            return
        first = state.trips[0]
        if state.released == 0:
            state.trips = []
            state.position = 0
            self.table.drop(state.truck)
            return
        end = first.stops[state.released]
        cut = Trip(
            state.truck,
            "",
            first.direction,
            first.stops[: state.released + 1],
            first.passes[: state.released],
            tuple(s for s in first.stays if s.start_s <= end.arrive_s),
            (),
            first.border_s if self._crossed_by(first, state.released) else None,
            0.0,
            end.node_id,
        )
        state.trips = [cut]
        state.held = False
        self.table.drop(state.truck, keep=self._kept(state))
        if state.position >= state.released:
            self._finish_trip(state, now_s)

    def block_segment(
        self, segment: str, now_s: float, until_s: float = math.inf, reason: str = "breakdown"
    ) -> None:
        """A segment is closed (breakdown inside a block) until ``until_s`` (unknown: inf)."""
        self.table.add_blockage(Blockage(segment, now_s, until_s, reason))
        affected = {
            t
            for t, s in self.trucks.items()
            if any(p.segment == segment and p.exit_s > now_s for tr in s.trips for p in tr.passes)
        }
        self._replan_trucks(affected, now_s)

    def unblock_segment(self, segment: str, now_s: float) -> None:
        """The segment is open again."""
        self.table.clear_blockages(segment, now_s)
        self._replan_trucks(set(self.trucks), now_s)

    def withhold_token(self, now_s: float, until_s: float = math.inf) -> None:
        """The other side withholds the crossing token at every border point."""
        for node in self.router.border_nodes:
            self.table.add_blockage(Blockage(node, now_s, until_s, "token withheld"))
        affected = {
            t
            for t, s in self.trucks.items()
            if any(tr.border_s is not None and tr.border_s >= now_s for tr in s.trips)
        }
        self._replan_trucks(affected, now_s)

    def restore_token(self, now_s: float) -> None:
        """Crossing tokens are issued again."""
        for node in self.router.border_nodes:
            self.table.clear_blockages(node, now_s)
        self._replan_trucks(set(self.trucks), now_s)

    def set_calendar(self, calendar: WindowCalendar, now_s: float) -> None:
        """The agreement changed at short notice (e.g. a window shortened)."""
        self.router.calendar = calendar
        self._replan_trucks(set(self.trucks), now_s)

    def tick(self, now_s: float) -> None:
        """Periodic: forget old reservations, dispatch idle trucks."""
        self.table.prune(now_s - 3600.0)
        self.dispatch(now_s)

    # --- dispatch and re-planning -------------------------------------------------------------
    def dispatch(self, now_s: float) -> list[str]:
        """Give every idle, available truck its best next run; returns the trucks planned.

        With departure waves, a truck that takes a run waits for the next wave of its first
        trip's direction; all trucks of a wave are planned together when it is near, same
        direction together, so they cross single-lane blocks as one platoon. Urgent runs never
        wait for a wave.
        """
        waiting = {w[0] for w in self._waiting}
        idle = sorted(
            t for t, s in self.trucks.items() if s.available and not s.trips and t not in waiting
        )
        if not idle and not self._waiting:
            return []  # nothing to assign, no wave to start
        if idle:
            self._prune_open()
        chosen: list[tuple[str, RunRecord]] = []
        for truck in idle:
            # the pending runs come most pressing first, the urgent ones before all others
            first = next(self._pending(now_s), None)
            if first is None:
                break
            node = self.trucks[truck].node
            home = self.trucks[truck].return_to
            # Urgent first; else a run that starts here (backhaul, no empty km); else drive
            # empty to the most pressing run elsewhere. A truck bringing a held container
            # back takes only a run from that yard.
            rec: RunRecord | None = first
            if home:
                rec = next((r for r in self._pending(now_s) if r.run.origin == home), None)
            elif not first.urgent:
                rec = next((r for r in self._pending(now_s) if r.run.origin == node), first)
            if rec is None:
                continue
            rec.truck = truck  # (no longer pending)
            if self.wave_s is None or rec.urgent:
                chosen.append((truck, rec))
            else:
                state = self.trucks[truck]
                first_to = rec.run.destination if node == rec.run.origin else rec.run.origin
                direction = self.lane_map.direction_between(
                    self.lane_map.node(node), self.lane_map.node(first_to)
                )
                start = max(state.at_s, now_s, rec.run.ready_s)
                self._waiting.append((truck, rec, self._next_wave(direction, start)))
        if self.wave_s is not None:
            due = [w for w in self._waiting if w[2] - now_s <= self.wave_s / 2]
            self._waiting = [w for w in self._waiting if w[2] - now_s > self.wave_s / 2]
            for truck, rec, wave in sorted(due, key=lambda w: (w[2], w[0])):
                state = self.trucks[truck]
                state.at_s = max(state.at_s, wave)
                chosen.append((truck, rec))
        planned = []
        for truck, rec in chosen:
            if self._plan_run(self.trucks[truck], rec, now_s):
                planned.append(truck)
            else:
                rec.truck = ""
        return planned

    def _pending(self, now_s: float) -> Iterator[RunRecord]:
        """The runs a truck may take now, most pressing first: unassigned, not done, cleared,
        ready within the hour; urgent first, then by due time, ready time, id."""
        for _, r in self._open:
            if (
                not r.truck
                and not r.done
                and r.cleared_s <= now_s
                and r.run.ready_s <= now_s + 3600
            ):
                yield r

    def _prune_open(self, every: int = 64) -> None:
        """Drop the runs done from the index of open runs, once ``every`` have finished since
        the last time (the index may hold done runs; its readers skip them)."""
        if self._open_done >= every:
            self._open = [(k, r) for k, r in self._open if not r.done]
            self._open_done = 0

    def _next_wave(self, direction: Direction, t: float) -> float:
        """The first departure wave of ``direction`` at or after ``t`` (northbound waves sit
        half a period after southbound ones)."""
        assert self.wave_s is not None
        phase = 0.0 if direction is Direction.SOUTHBOUND else self.wave_s / 2
        return phase + math.ceil((t - phase) / self.wave_s - 1e-9) * self.wave_s

    def _forget_waiting(self, predicate: Callable[[str, RunRecord], bool]) -> None:
        keep = []
        for truck, rec, wave in self._waiting:
            if predicate(truck, rec):
                rec.truck = ""
            else:
                keep.append((truck, rec, wave))
        self._waiting = keep

    def _direction(self, rec: RunRecord) -> Direction:
        return self.lane_map.direction_between(
            self.lane_map.node(rec.run.origin), self.lane_map.node(rec.run.destination)
        )

    def _estimate(self, state: TruckState, rec: RunRecord, now_s: float) -> tuple[float, str]:
        empty = (
            0.0
            if state.node == rec.run.origin
            else sum(self.router.traversal_s(leg) for leg in self.route(state.node, rec.run.origin))
        )
        return (max(state.at_s, now_s) + empty, state.truck)

    def _swap_due(self, state: TruckState) -> bool:
        return state.runs_since_swap >= 2 * self.vehicle.swap_every_round_trips

    def _plan_run(self, state: TruckState, rec: RunRecord, now_s: float) -> bool:
        start = max(state.at_s, now_s, rec.run.ready_s)
        if self._swap_due(state) and state.node in self.swaps:
            station, servers, swap_s = self.swaps[state.node]
            begin = self.table.earliest_service(station, start, swap_s, servers, state.truck)
            self.table.add_service(Service(state.truck, station, begin, begin + swap_s))
            start = begin + swap_s
            state.runs_since_swap = 0
        trips: list[Trip] = []
        node = state.node
        if node != rec.run.origin:
            empty = self.router.plan(
                self.table, state.truck, self.route(node, rec.run.origin), start
            )
            if empty is None:
                return False
            empty.reserve(self.table)
            trips.append(empty)
            start, node = empty.lane_exit_s, rec.run.origin
        depart = self._crane(state.truck, node, start)
        loaded = self.router.plan(
            self.table,
            state.truck,
            self.route(node, rec.run.destination),
            depart,
            rec.run.run_id,
            rec.cleared_s,
        )
        if loaded is None:
            for t in trips:
                self.table.drop(state.truck, keep=self._kept(state, exclude=t))
            return False
        loaded.reserve(self.table)
        self._crane(state.truck, rec.run.destination, loaded.lane_exit_s)
        trips.append(loaded)
        state.trips.extend(trips)
        if len(state.trips) == len(trips):
            state.position = 0
            self._extend_release(state)
        return True

    def _crane(self, truck: str, node: str, t: float) -> float:
        """Reserve one lift at ``node``'s cranes from the earliest free time; returns its end."""
        if node not in self.cranes:
            return t
        station, servers = self.cranes[node]
        lift = self.lift_s[node]
        start = self.table.earliest_service(station, t, lift, servers, truck)
        self.table.add_service(Service(truck, station, start, start + lift))
        return start + lift

    def _kept(self, state: TruckState, exclude: Trip | None = None) -> set[Pass | Stay | Service]:
        kept: set[Pass | Stay | Service] = set()
        for trip in state.trips:
            if trip is exclude:
                continue
            kept.update(trip.passes, trip.stays, trip.services)
        return kept

    def _extend_release(self, state: TruckState) -> None:
        """Release up to the first release point strictly ahead of the truck."""
        if not state.trips or not self.auto_release:
            return
        stops = state.trips[0].stops
        nxt = next(
            (i for i in range(state.position + 1, len(stops)) if stops[i].release_point),
            len(stops) - 1,
        )
        state.released = max(state.released, nxt)

    def _finish_trip(self, state: TruckState, now_s: float) -> None:
        trip = state.trips.pop(0)
        state.runs_since_swap += 1  # counts one-way trips: a round trip is two
        state.position = 0
        state.released = 0
        if trip.run_id:
            self.runs[trip.run_id].done = True
            self._open_done += 1
        if state.trips:
            self._extend_release(state)

    def _replan_trucks(self, trucks: set[str], now_s: float) -> None:
        """Re-plan the horizons of ``trucks``; their released bases stay as they are."""
        work = []
        for truck in sorted(trucks):
            state = self.trucks.get(truck)
            if state is None or not state.trips:
                continue
            first = state.trips[0]
            keep_passes = first.passes[: state.released]
            keep_stays = tuple(
                s
                for s in first.stays
                if s.node in {st.node_id for st in first.stops[: state.released]}
            )
            keep = (
                set(keep_passes)
                | set(keep_stays)
                | {v for v in first.services if v.end_s <= first.stops[state.released].arrive_s}
            )
            self.table.drop(truck, keep=keep)
            runs = [t.run_id for t in state.trips if t.run_id]
            work.append((state, first, keep_passes, keep_stays, runs))

        # Trucks already committed to their base end go first: they must stand there whatever
        # happens, so the others plan around them. Those still driving toward it before those
        # standing there (a standing truck can wait; a driving one will arrive, and a truck
        # planned before it could take the lane it needs to leave, leaving it nowhere to
        # stand). Then by when they get there.
        def priority(w: tuple[TruckState, Trip, tuple[Pass, ...], tuple[Stay, ...], list[str]]
                     ) -> tuple[bool, bool, float, str, str]:  # fmt: skip
            state, first = w[0], w[1]
            committed = state.released > 0
            standing = state.position >= state.released
            return (not committed, standing, first.stops[state.released].arrive_s,
                    first.direction.value, state.truck)  # fmt: skip

        for state, first, keep_passes, keep_stays, runs in sorted(work, key=priority):
            self._replan_one(state, first, keep_passes, keep_stays, runs, now_s)
        # Only now: every re-planned truck holds its reservations again.
        self.dispatch(now_s)

    def _replan_one(
        self,
        state: TruckState,
        first: Trip,
        keep_passes: tuple[Pass, ...],
        keep_stays: tuple[Stay, ...],
        runs: list[str],
        now_s: float,
    ) -> None:
        base_end = first.stops[state.released]
        rest_from = base_end.node_id
        start = max(base_end.arrive_s, now_s) if state.released > 0 else max(state.at_s, now_s)
        rec = self.runs.get(first.run_id) if first.run_id else None
        state.trips = []
        if (
            rec is not None
            and math.isinf(rec.cleared_s)
            and (first.border_s is None or first.border_s > now_s)
            and state.position == 0
        ):
            rec.truck = ""  # held before leaving: the run waits; the truck is free again
            self.table.drop(state.truck)
            for run_id in runs[1:]:
                self.runs[run_id].truck = ""
            return
        destination = first.destination
        state.held = False
        legs = self.route(rest_from, destination)
        clearance = rec.cleared_s if rec else 0.0
        mid = state.released > 0 or state.position > 0
        tail = (
            self.router.plan(
                self.table, state.truck, legs, start, first.run_id, clearance, mid_trip=mid
            )
            if legs
            else None
        )
        if legs and tail is None:
            # Cannot go on now (blocked with no known end): hold at the release point.
            held = Trip(
                state.truck,
                first.run_id,
                first.direction,
                first.stops[: state.released + 1],
                keep_passes,
                keep_stays,
                (),
                first.border_s,
                first.clearance_s,
                destination,
            )
            # its reservations are the kept base, still in the table
            state.trips = [held]
            state.held = True
        else:
            prefix = first.stops[: state.released]
            stops = prefix + (tail.stops if tail else first.stops[state.released :])
            merged = Trip(
                state.truck,
                first.run_id,
                first.direction,
                stops,
                keep_passes + (tail.passes if tail else ()),
                keep_stays + (tail.stays if tail else ()),
                tail.services if tail else (),
                tail.border_s if tail and tail.border_s is not None else first.border_s,
                first.clearance_s,
                destination,
            )
            for p in tail.passes if tail else ():
                self.table.add_pass(p)
            for s in tail.stays if tail else ():
                self.table.add_stay(s)
            for v in tail.services if tail else ():
                self.table.add_service(v)
            state.trips = [merged]
            self._extend_release(state)
        for run_id in runs:
            if run_id != first.run_id:
                self.runs[run_id].truck = ""


def _pressing(rec: RunRecord) -> tuple[bool, float, float, str]:
    """Dispatch order of runs, ascending: urgent first, then by due time, ready time, id."""
    return (not rec.urgent, rec.run.due_s or math.inf, rec.run.ready_s, rec.run.run_id)


WAVE_ALLOWANCE = 1.25  # gates and cranes spread a wave's trucks; leave room for the spread


def default_wave_s(lane_map: LaneMap, vehicle: VehicleClass) -> float | None:
    """Departure wave period: the longest single-lane group's platoon cycle (as the capacity
    calculator plans it at an even split), with a 25 % allowance for the spread gates and
    cranes put into a wave. None when the map has no single-lane section."""
    groups = single_lane_groups(lane_map)
    if not groups:
        return None
    cycles = [plan_group(lane_map, g, vehicle, 0.5, DEFAULT_PLATOON_CAP).cycle_s for g in groups]
    return WAVE_ALLOWANCE * max(cycles)
