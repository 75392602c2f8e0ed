"""Agreement windows on the planner's clock: seconds since a corridor epoch.

The planner works in float seconds since ``epoch`` (an aware datetime). Windows are computed
once per horizon from the agreement (:func:`agreement_calendar`, the one builder the simulator
and the vehicle bridge share), so the hot path never touches time zones. :func:`window_blocker`
is the departure rule toward the border that the fleet controller applies to every release.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from dataclasses import dataclass, field

from corridor_core.agreement import Agreement
from corridor_core.runs import Direction

DAY_S = 86400.0


@dataclass(frozen=True)
class OpenInterval:
    """The lane is open to one direction in [open_s, close_s); entries toward the border
    must be before ``last_entry_s``."""

    open_s: float
    last_entry_s: float
    close_s: float


@dataclass(frozen=True)
class WindowCalendar:
    """Open intervals per direction, sorted, over a horizon; not changed once made (a
    changed calendar is a new one, see :meth:`shortened`)."""

    intervals: dict[Direction, tuple[OpenInterval, ...]]
    # per direction the intervals and their opening times, for :meth:`interval_at`
    _opens: dict[Direction, tuple[tuple[OpenInterval, ...], list[float]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        opens = {d: (spans, [s.open_s for s in spans]) for d, spans in self.intervals.items()}
        object.__setattr__(self, "_opens", opens)

    @classmethod
    def always_open(cls) -> WindowCalendar:
        """No agreement limits (for studies of the lane alone)."""
        forever = (OpenInterval(-math.inf, math.inf, math.inf),)
        return cls({d: forever for d in Direction})

    @classmethod
    def from_agreement(
        cls, agreement: Agreement, epoch: dt.datetime, horizon_s: float, step_s: float = 60.0
    ) -> WindowCalendar:
        """Sample the agreement every ``step_s`` from the epoch over the horizon.

        Interval edges are exact to ``step_s`` (default one minute, the resolution agreements
        are written in); the epoch should fall on a whole minute.
        """
        out: dict[Direction, tuple[OpenInterval, ...]] = {}
        for direction in Direction:
            spans: list[OpenInterval] = []
            t = 0.0
            while t < horizon_s:
                decision = agreement.may_enter(epoch + dt.timedelta(seconds=t), direction)
                if decision.allowed and decision.last_entry and decision.close:
                    last = (decision.last_entry - epoch).total_seconds()
                    close = (decision.close - epoch).total_seconds()
                    if not spans or spans[-1].close_s != close:
                        spans.append(OpenInterval(t, last, close))
                    t = max(t + step_s, last)
                else:
                    t += step_s
            out[direction] = tuple(spans)
        return cls(out)

    def interval_at(self, direction: Direction, t: float) -> OpenInterval | None:
        """The interval containing ``t`` (open_s <= t < close_s), if any."""
        spans, opens = self._opens[direction]
        i = bisect_right(opens, t) - 1
        if i >= 0 and t < spans[i].close_s:
            return spans[i]
        return None

    def next_open(self, direction: Direction, t: float) -> OpenInterval | None:
        """The first interval whose last entry is after ``t``."""
        for span in self.intervals[direction]:
            if span.last_entry_s > t:
                return span
        return None

    def shifted(self, by_s: float) -> WindowCalendar:
        """A copy with every time moved ``by_s`` later (earlier when negative)."""
        return WindowCalendar(
            {
                d: tuple(
                    OpenInterval(s.open_s + by_s, s.last_entry_s + by_s, s.close_s + by_s)
                    for s in spans
                )
                for d, spans in self.intervals.items()
            }
        )

    def shortened(
        self, direction: Direction, at_s: float, new_close_s: float, margin_s: float
    ) -> WindowCalendar:
        """A copy where the interval in force at ``at_s`` closes at ``new_close_s``."""
        spans = []
        for span in self.intervals[direction]:
            if span.open_s <= at_s < span.close_s and new_close_s < span.close_s:
                close = max(new_close_s, span.open_s)
                spans.append(
                    OpenInterval(span.open_s, min(span.last_entry_s, close - margin_s), close)
                )
            else:
                spans.append(span)
        return WindowCalendar({**self.intervals, direction: tuple(spans)})


def agreement_calendar(
    agreement: Agreement,
    epoch: dt.datetime,
    since_s: float,
    until_s: float,
    lookback_s: float = DAY_S,
) -> WindowCalendar:
    """The agreement's open intervals on the clock whose 0 is ``epoch``, over [since_s, until_s).

    Sampled from ``lookback_s`` before ``since_s``, so an interval already open at ``since_s``
    keeps its true opening, last entry and close. The simulator's studies and the vehicle
    bridge both build their calendars here.

    Args:
        agreement: the loaded agreement.
        epoch: aware instant of clock 0; should fall on a whole minute.
        since_s: first second of the clock the calendar must cover.
        until_s: end of the horizon, seconds of the same clock.
        lookback_s: how far before ``since_s`` sampling starts (a day: no window is longer).
    """
    start_s = since_s - lookback_s
    base = epoch + dt.timedelta(seconds=start_s)
    return WindowCalendar.from_agreement(agreement, base, until_s - start_s).shifted(start_s)


def window_blocker(
    calendar: WindowCalendar,
    direction: Direction,
    now_s: float,
    to_border_s: float,
    to_exit_s: float | None = None,
    enters_border: bool = False,
) -> str:
    """Why a truck that has not crossed the border yet may not go on toward it now ("" if it
    may): the agreement's rule at every release before the border.

    It may go when the interval in which it would reach the border (the one open now, or the
    next one if that opens by the time it gets there) lets it reach the border no later than
    the interval's last entry and, when ``to_exit_s`` is given (the decision at its yard),
    leave the lane by the close. A piece that takes it to the border itself
    (``enters_border``) needs the window open now.

    Args:
        calendar: the windows in force.
        direction: the truck's direction.
        now_s: the controller's clock.
        to_border_s: estimated seconds from where it stands to the border point.
        to_exit_s: estimated seconds to the end of its trip (off the lane); None: not checked.
        enters_border: the piece to release ends at or passes the border point.
    """
    at_border_s = now_s + to_border_s
    span = calendar.interval_at(direction, now_s)
    if span is None:
        if enters_border:
            return "window closed"
        span = calendar.next_open(direction, now_s)
        if span is None:
            return "window closed: no later window in the calendar"
        if span.open_s > at_border_s:
            return "window closed"
    if at_border_s > span.last_entry_s:
        late_s = at_border_s - span.last_entry_s
        return f"window: would reach km 0 {late_s:.0f} s after the last entry"
    if to_exit_s is not None and now_s + to_exit_s > span.close_s:
        late_s = now_s + to_exit_s - span.close_s
        return f"window: would leave the lane {late_s:.0f} s after the close"
    return ""


def misses_last_entry_s(
    calendar: WindowCalendar, direction: Direction, now_s: float, to_border_s: float
) -> float | None:
    """By how many seconds a truck on the lane, short of the border, would reach km 0 after the
    last entry of the window open now (``to_border_s`` from now); None when it makes it, or
    when no window of its direction is open now (it waits on the lane for one that opens later
    only if it left its yard for that one, and then no close falls before it crosses).

    A truck that misses the last entry may not cross in this window, and must be off the lane
    by its close: it turns back to a yard.
    """
    span = calendar.interval_at(direction, now_s)
    if span is None:
        return None
    late_s = now_s + to_border_s - span.last_entry_s
    return late_s if late_s > 0 else None
