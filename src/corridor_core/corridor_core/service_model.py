"""The station service model: which stations a truck visits, and how long each visit takes.

Pure. The one model of station work, called by every driver of trucks: the simulator's engine
(:mod:`corridor_sim.engine`) and the emulated VDA 5050 trucks of the loop
(:mod:`corridor_sim.truck_logic`). A visit's time is the station's ``service_time_s`` draw plus
its ``setup_s``; with an exception stream, a visit is an exception (e.g. a gate's remote manual
check) with the station's ``exception_probability`` and then adds an ``exception_time_s``
draw. Random draws come from caller-supplied generators only, in a fixed order (the service
draw, then the exception decision, then the exception draw), so two callers with equal seeds
draw equal times.

Which stations a truck stops at:

- at a lane node (not a yard): the gates, scanners, token desks and weighbridges there that
  serve its direction; scanners only when it carries a load;
- at a yard: the crane (``yard_handling``) to load at the start of a loaded trip and to unload
  at its end, and before the unload the yard's scanners of its direction; inspections hold the
  set-down container, not the truck;
- a station with ``share < 1`` is visited by that share of the trucks that pass (one draw);
- a battery swap (the vehicle class's ``swap_time_s``) at a yard with a swap station, before
  a trip, once the truck has driven ``2 * swap_every_round_trips`` one-way trips since the last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from corridor_core.distributions import Rng
from corridor_core.interlock.limits import DWELL_KINDS  # the one definition
from corridor_core.lane_map import Station, StationKind, VehicleClass
from corridor_core.runs import Direction

EMPTY_DWELL_KINDS = frozenset(DWELL_KINDS) - {StationKind.SCANNER}


class ShareRng(Protocol):
    """The slice of numpy.random.Generator the visit decisions use."""

    def random(self) -> float: ...


@dataclass(frozen=True)
class ServiceDraw:
    """One visit's time in seconds, and whether it was an exception (e.g. a manual check)."""

    seconds: float
    exception: bool = False


def service_time_s(
    station: Station, rng: Rng, exception_rng: ShareRng | None = None
) -> ServiceDraw:
    """The time one visit holds a server of ``station``.

    Args:
        station: the station.
        rng: draws the service time (and the exception time).
        exception_rng: decides whether the visit is an exception; None: no exceptions.
    """
    seconds = station.service_time_s.sample(rng) + station.setup_s
    if (
        exception_rng is not None
        and station.exception_time_s is not None
        and exception_rng.random() < station.exception_probability
    ):
        return ServiceDraw(seconds + station.exception_time_s.sample(rng), True)
    return ServiceDraw(seconds)


def selected(station: Station, rng: ShareRng) -> bool:
    """Does this truck visit ``station``? Always when its ``share`` is 1, else one draw."""
    return station.share >= 1.0 or rng.random() < station.share


def lane_stations(stations: Iterable[Station], direction: Direction, loaded: bool) -> list[Station]:
    """The stations of a lane node (``stations``, in the order given) a truck going
    ``direction`` stops at, before the share draw."""
    kinds = DWELL_KINDS if loaded else EMPTY_DWELL_KINDS
    return [st for st in stations if st.kind in kinds and direction in st.directions]


def stations_of_kind(
    stations: Iterable[Station], direction: Direction, kind: StationKind
) -> list[Station]:
    """The stations of ``kind`` among ``stations`` that serve ``direction``, in order."""
    return [st for st in stations if st.kind is kind and direction in st.directions]


def crane(stations: Iterable[Station]) -> Station | None:
    """The first yard-handling station among ``stations`` (the yard's cranes), if any."""
    return next((st for st in stations if st.kind is StationKind.YARD_HANDLING), None)


def swap_station(stations: Iterable[Station]) -> Station | None:
    """The first battery-swap station among ``stations``, if any."""
    return next((st for st in stations if st.kind is StationKind.BATTERY_SWAP), None)


def swap_due(one_way_trips: int, vehicle: VehicleClass) -> bool:
    """Is a battery swap due after ``one_way_trips`` trips since the last swap?"""
    return one_way_trips >= 2 * vehicle.swap_every_round_trips


def swap_time_s(vehicle: VehicleClass) -> float:
    """Seconds a battery swap holds the swap station."""
    return vehicle.swap_time_s
