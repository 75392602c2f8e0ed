"""The agreement file behind the vehicle bridge's window calendar, watched for changes.

Loads and validates the agreement (``corridor_core.agreement``), builds its calendar on the
controller's clock with the builder the simulator uses
(:func:`corridor_core.planning.windows.agreement_calendar`), and tells when the file changed or
the calendar's horizon runs out. A file that does not load is refused with the loader's error;
the agreement in force stays.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from corridor_core.agreement import Agreement, load_agreement
from corridor_core.errors import ConfigError
from corridor_core.planning.windows import DAY_S, WindowCalendar, agreement_calendar
from corridor_core.runs import Direction

HORIZON_S = 7 * DAY_S  # a calendar covers a week ahead; it is rebuilt a day before it ends


def load(path: str) -> Agreement | None:
    """The agreement at ``path`` ("" = none: always open).

    Raises:
        ConfigError: the file is missing or breaks a rule (the loader's message).
    """
    if not path:
        return None
    try:
        return load_agreement(path)
    except OSError as exc:
        raise ConfigError(path, "", f"cannot be read ({exc.strerror or exc})") from exc


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


@dataclass
class AgreementWatch:
    """The agreement in force and the file it came from.

    Attributes:
        path: agreement YAML ("" = none).
        epoch: aware instant of the controller's clock 0.
        agreement: the agreement in force (None: always open).
    """

    path: str
    epoch: dt.datetime
    agreement: Agreement | None = None
    _stamp: tuple[int, int] | None = None
    _refused: tuple[int, int] | None = None  # stamp of the last file refused (reported once)
    until_s: float = float("inf")  # end of the horizon of the last calendar built

    @classmethod
    def open(cls, path: str, epoch: dt.datetime) -> AgreementWatch:
        """Load ``path`` now.

        Raises:
            ConfigError: as :func:`load`.
        """
        watch = cls(path, epoch)
        watch.agreement = load(path)
        watch._stamp = _stamp(path) if path else None
        return watch

    def calendar(self, now_s: float) -> WindowCalendar:
        """The calendar of the agreement in force from ``now_s`` over :data:`HORIZON_S`."""
        if self.agreement is None:
            self.until_s = float("inf")
            return WindowCalendar.always_open()
        self.until_s = now_s + HORIZON_S
        return agreement_calendar(self.agreement, self.epoch, now_s, self.until_s)

    def needs_extension(self, now_s: float) -> bool:
        """True when the calendar's horizon ends within a day."""
        return now_s > self.until_s - DAY_S

    def poll(self) -> bool | ConfigError:
        """Check the file: False when unchanged (or a change already refused), True when it
        changed and the new agreement is in force, the ConfigError when it changed and does
        not load (the agreement in force stays)."""
        if not self.path:
            return False
        stamp = _stamp(self.path)
        if stamp == self._stamp or stamp == self._refused:
            return False
        try:
            agreement = load(self.path)
        except ConfigError as exc:
            self._refused = stamp
            return exc
        self.agreement, self._stamp, self._refused = agreement, stamp, None
        return True

    def switch(self, path: str) -> Agreement | None:
        """Take the agreement at another ``path`` ("" = none).

        Raises:
            ConfigError: as :func:`load`; nothing changes then.
        """
        agreement = load(path)
        self.path, self.agreement = path, agreement
        self._stamp, self._refused = (_stamp(path) if path else None), None
        return agreement

    def describe(self, calendar: WindowCalendar, now_s: float, zone: str) -> str:
        """One line per direction: the window open now or the next one, in ``zone``."""
        if self.agreement is None:
            return "no agreement: always open"
        tz = ZoneInfo(zone)

        def at(t_s: float) -> str:
            return (
                (self.epoch + dt.timedelta(seconds=t_s)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            )

        parts = []
        for d in Direction:
            span = calendar.interval_at(d, now_s)
            if span is not None and now_s <= span.last_entry_s:
                what = f"open, last entry {at(span.last_entry_s)}, close {at(span.close_s)}"
            else:
                span = calendar.next_open(d, now_s)
                what = (
                    f"closed, opens {at(span.open_s)} (last entry {at(span.last_entry_s)})"
                    if span
                    else "closed, no window in the next week"
                )
            parts.append(f"{d.value} {what}")
        a = self.agreement
        return f"agreement {a.name!r} v{a.version} ({zone}): " + "; ".join(parts)
