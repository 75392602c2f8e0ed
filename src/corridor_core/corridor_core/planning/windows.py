"""Agreement windows on the planner's clock: seconds since a corridor epoch.

The planner works in float seconds since ``epoch`` (an aware datetime). Windows are computed
once per horizon from the agreement, so the hot path never touches time zones.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from dataclasses import dataclass, field

from corridor_core.agreement import Agreement
from corridor_core.runs import Direction


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
