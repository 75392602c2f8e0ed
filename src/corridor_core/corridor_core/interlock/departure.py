"""The departure rules before the border: the agreement's window, and the crossing itself.

Pure functions of the facts they are given. Times are seconds on the calendar's clock.

- :func:`window_allows_departure`: a truck that has not crossed yet leaves a stop only while
  the window of its direction can take it. The decision is taken at the yard: out only if it
  reaches the border before the window's last entry and its destination before the close (and
  not while its trip is held short of its destination, nor when the planner put its crossing
  into a later window). Closed now, it leaves the yard early only if the window opens by the
  time it can be at the border. Once on the lane it goes on (stopping there would only leave
  it on the lane at the close), and toward the border while a window is still to come.
- :func:`crossing_allowed`: it crosses the border point only with clearance (loaded trips)
  and while the crossing token is not withheld.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from corridor_core.planning.windows import WindowCalendar
from corridor_core.runs import Direction


def window_allows_departure(
    calendar: WindowCalendar,
    d: Direction,
    now_s: float,
    *,
    at_yard: bool,
    at_border: bool,
    held: bool,
    planned_border_s: float | None,
    to_border_s: Callable[[], float],
    to_end_s: Callable[[], float],
) -> tuple[bool, float | None]:
    """May a truck of direction ``d`` that has not crossed the border yet leave its stop now?

    Args:
        calendar: the agreement's open intervals.
        at_yard: it stands at its origin yard (the decision is taken there).
        at_border: it stands at the border point.
        held: its trip is held short of its destination (a blockage on the way).
        planned_border_s: when its plan crosses the border (None: the trip does not cross).
        to_border_s: seconds it would take from here to the border point (asked only at the
            yard, at most once).
        to_end_s: seconds it would take from here to the end of its trip (asked only at the
            yard, after ``to_border_s``).

    Returns:
        ``(True, None)`` when it may leave; ``(False, None)`` when it may not; ``(False, t)``
        when it may not because the window opens later than it could reach the border: the
        same answer holds until ``t`` (open less ``to_border_s``) while the calendar and the
        estimate are the same.
    """
    span = calendar.interval_at(d, now_s)
    to_border: float | None = None
    if span is None:
        # Closed. A truck goes out early only if the window opens by the time it can be at the
        # border (it waits there for the open: there is no close before it); one already out
        # goes on toward the border and waits for the open there.
        ahead = calendar.next_open(d, now_s)
        if ahead is None or at_border:
            return False, None
        if at_yard:
            to_border = to_border_s()
            if ahead.open_s > now_s + to_border:
                return False, ahead.open_s - to_border
        span = ahead
    if at_yard:
        if held or (planned_border_s is not None and planned_border_s > span.last_entry_s):
            # a trip short of its destination (held for a blockage), or one the planner put
            # into a later window: the truck waits at the yard
            return False, None
        if to_border is None:
            to_border = to_border_s()
        if now_s + to_border >= span.last_entry_s:
            return False, None
        if now_s + to_end_s() > span.close_s:
            return False, None
    return True, None


def crossing_allowed(now_s: float, token_withheld: bool, cleared_s: float = -math.inf) -> bool:
    """May a truck cross the border point now?

    Args:
        token_withheld: the joint crossing token is withheld (no crossing in either direction).
        cleared_s: when customs cleared its run (``math.inf``: not yet; ``-math.inf`` for an
            empty trip, which needs no clearance).
    """
    return not token_withheld and cleared_s <= now_s
