"""Bilateral crossing agreements: when each direction may use the lane, in either country's clock.

An agreement (``config/agreements/<name>.yaml``; format in ``docs/agreement-format.md``) lists
crossing windows per direction, each in a named IANA time zone (``Asia/Ho_Chi_Minh`` is UTC+7,
``Asia/Shanghai`` UTC+8), blackouts and holidays that close the lane, a last-entry margin before
each close (the corridor must be empty at close), the maximum trucks on the lane, validity dates,
a version and both parties' sign-off.

:meth:`Agreement.may_enter` answers "may this truck enter this block at time t in this
direction?" for any time-zone-aware instant, whatever clock it is written in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from corridor_core.config_reader import Field, load_yaml
from corridor_core.errors import ConfigError
from corridor_core.runs import Direction

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class DailyInterval:
    """A daily stretch of local time, opening on the listed weekdays.

    ``open_min``/``close_min`` are minutes after local midnight; a close at or before the open
    ends the next day (a window across midnight); 1440 is "24:00".
    """

    interval_id: str
    time_zone: str
    open_min: int
    close_min: int
    days: tuple[str, ...] = WEEKDAYS

    def occurrences(self, around: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The (start, end) instants of the occurrences near ``around``, sorted.

        Occurrences that touch (a 00:00-24:00 window on consecutive days) are merged into one,
        so a daily close that is immediately reopened is no close.
        """
        zone = ZoneInfo(self.time_zone)
        local_day = around.astimezone(zone).date()
        length = (self.close_min - self.open_min) % 1440 or 1440
        spans: list[tuple[dt.datetime, dt.datetime]] = []
        for offset in range(-3, 3):
            day = local_day + dt.timedelta(days=offset)
            if WEEKDAYS[day.weekday()] not in self.days:
                continue
            start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            start += dt.timedelta(minutes=self.open_min)
            end = start + dt.timedelta(minutes=length)
            if spans and spans[-1][1] >= start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans


@dataclass(frozen=True)
class CrossingWindow:
    """A daily window during which ``directions`` may cross."""

    interval: DailyInterval
    directions: tuple[Direction, ...]
    last_entry_margin_min: float


@dataclass(frozen=True)
class Holiday:
    """A whole local calendar day with no crossings."""

    date: dt.date
    time_zone: str
    name: str


@dataclass(frozen=True)
class SignOff:
    """One party's approval of this version."""

    party: str
    authority: str
    signed_by: str
    signed_on: dt.date | None


@dataclass(frozen=True)
class EntryDecision:
    """The answer to a may-enter query."""

    allowed: bool
    reason: str
    window_id: str = ""
    last_entry: dt.datetime | None = None  # latest allowed entry of the interval in force
    close: dt.datetime | None = None  # when the lane must be empty


@dataclass(frozen=True)
class Agreement:
    """A crossing agreement between two parties."""

    name: str
    version: int
    time_zone: str  # clock of the validity dates
    valid_from: dt.date
    valid_until: dt.date
    max_trucks_on_lane: int
    corridor_empty_at_close: bool
    windows: tuple[CrossingWindow, ...]
    blackouts: tuple[DailyInterval, ...]
    holidays: tuple[Holiday, ...]
    sign_off: tuple[SignOff, ...]

    def may_enter(
        self, at: dt.datetime, direction: Direction, before_border: bool = True
    ) -> EntryDecision:
        """May a truck enter a block at instant ``at`` travelling in ``direction``?

        Args:
            at: a time-zone-aware instant, in any clock.
            direction: the truck's direction.
            before_border: True for blocks on the way to the border point, where the last-entry
                margin applies so the lane is empty at close; False past the border, where entry
                is allowed until the close itself.

        Raises:
            ValueError: when ``at`` is naive (a time without a clock is ambiguous here).
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("may_enter needs a time-zone-aware datetime")
        local = at.astimezone(ZoneInfo(self.time_zone)).date()
        if not self.valid_from <= local <= self.valid_until:
            return EntryDecision(
                False,
                f"outside the validity of agreement {self.name!r} "
                f"({self.valid_from} to {self.valid_until}, {self.time_zone})",
            )
        for holiday in self.holidays:
            if at.astimezone(ZoneInfo(holiday.time_zone)).date() == holiday.date:
                return EntryDecision(
                    False, f"holiday {holiday.name!r} ({holiday.date}, {holiday.time_zone})"
                )
        for blackout in self.blackouts:
            for start, end in blackout.occurrences(at):
                if start <= at < end:
                    return EntryDecision(
                        False, f"blackout {blackout.interval_id!r} until {end.isoformat()}"
                    )
        for window in self.windows:
            if direction not in window.directions:
                continue
            for start, end in window.interval.occurrences(at):
                if not start <= at < end:
                    continue
                _, seg_end = self._open_part(start, end, at)
                cutoff = seg_end - dt.timedelta(minutes=window.last_entry_margin_min)
                limit = cutoff if before_border else seg_end
                wid = window.interval.interval_id
                if at < limit:
                    return EntryDecision(True, f"window {wid!r} open", wid, cutoff, seg_end)
                return EntryDecision(
                    False,
                    f"past the last entry of window {wid!r} "
                    f"({cutoff.isoformat()}); lane closes {seg_end.isoformat()}",
                    wid,
                    cutoff,
                    seg_end,
                )
        return EntryDecision(False, f"no {direction.value} window of {self.name!r} is open")

    def _open_part(
        self, start: dt.datetime, end: dt.datetime, at: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime]:
        """The part of [start, end) containing ``at`` once blackouts are cut out of it."""
        seg_start, seg_end = start, end
        for blackout in self.blackouts:
            for b_start, b_end in blackout.occurrences(at) + blackout.occurrences(end):
                if b_end <= at and b_end > seg_start:
                    seg_start = b_end
                if b_start > at and b_start < seg_end:
                    seg_end = b_start
        return seg_start, seg_end

    def open_hours_per_day(self, direction: Direction, samples_per_hour: int = 12) -> float:
        """Mean daily hours during which ``direction`` may enter, over the first valid week."""
        zone = ZoneInfo(self.time_zone)
        start = dt.datetime.combine(self.valid_from, dt.time(), tzinfo=zone)
        step = dt.timedelta(hours=1 / samples_per_hour)
        total = 7 * 24 * samples_per_hour
        open_count = sum(
            self.may_enter(start + i * step + step / 2, direction).allowed for i in range(total)
        )
        return open_count / samples_per_hour / 7


def _zone(field: Field) -> str:
    name = field.text()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise field.error(
            f"names unknown time zone {name!r} (use an IANA name such as "
            "Asia/Ho_Chi_Minh or Asia/Shanghai)"
        ) from exc
    return name


def _time(field: Field) -> int:
    value = field.value
    if not isinstance(value, str) or not _HHMM.match(value):
        raise field.error('must be a time "HH:MM" (00:00 to 24:00), quoted')
    return _minutes(value)


def _date(field: Field) -> dt.date:
    value = field.value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise field.error("must be a date YYYY-MM-DD")


def _interval(item: Field, default_id: str) -> DailyInterval:
    if not item.has("time_zone"):
        where = f"{item.path}.time_zone"
        raise ConfigError(item.source, where, "is required: every window names its clock")
    zone = _zone(item.get("time_zone"))
    open_min = _time(item.get("open"))
    close_field = item.get("close")
    close_min = _time(close_field)
    if open_min == 1440:
        raise item.get("open").error("must be before 24:00")
    if close_min == open_min:
        raise close_field.error("must differ from open (use open 00:00, close 24:00 for all day)")
    days_field = item.get("days", list(WEEKDAYS))
    days = [d.choice(list(WEEKDAYS)) for d in days_field.items()]
    if not days:
        raise days_field.error("must list at least one weekday")
    return DailyInterval(item.get("id", default_id).text(), zone, open_min, close_min, tuple(days))


def _check_overlaps(windows: list[CrossingWindow], root: Field) -> None:
    """Two windows of one direction must not overlap: their rules would disagree."""
    monday = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # any week: these zones keep no DST
    for i, a in enumerate(windows):
        for j in range(i):
            b = windows[j]
            shared = set(a.directions) & set(b.directions)
            if not shared:
                continue
            for day in range(8):
                probe = monday + dt.timedelta(days=day, hours=12)
                for a_start, a_end in a.interval.occurrences(probe):
                    for b_start, b_end in b.interval.occurrences(probe):
                        if a_start < b_end and b_start < a_end:
                            name = sorted(d.value for d in shared)[0]
                            raise ConfigError(
                                root.source,
                                f"windows[{i}]",
                                f"overlaps windows[{j}] for {name} "
                                f"(from {max(a_start, b_start).isoformat()}); merge them or "
                                "move one",
                            )


def parse_agreement(data: Any, source: str) -> Agreement:
    """Build an Agreement from a parsed document, validating every rule.

    Raises:
        ConfigError: naming ``source``, the path inside it and the rule.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, "", "must be a mapping with name, windows and sign_off")
    root = Field(source, "", data)
    valid_from = _date(root.get("valid_from"))
    valid_until = _date(root.get("valid_until"))
    if valid_until < valid_from:
        raise root.get("valid_until").error("must not be before valid_from")
    windows = []
    for i, item in enumerate(root.get("windows").items()):
        directions = [
            d.choice([x.value for x in Direction]) for d in item.get("directions").items()
        ]
        if not directions:
            raise item.get("directions").error("must name at least one direction")
        interval = _interval(item, f"window-{i}")
        length = (interval.close_min - interval.open_min) % 1440 or 1440
        margin_field = item.get("last_entry_margin_min", 0)
        margin = margin_field.number(ge=0)
        if margin >= length:
            raise margin_field.error(f"must be shorter than the window ({length} min)")
        windows.append(CrossingWindow(interval, tuple(Direction(d) for d in directions), margin))
    if not windows:
        raise root.get("windows").error("must list at least one window")
    _check_overlaps(windows, root)
    blackouts = [
        _interval(b, f"blackout-{i}") for i, b in enumerate(root.get("blackouts", []).items())
    ]
    holidays = [
        Holiday(_date(h.get("date")), _zone(h.get("time_zone")), h.get("name").text())
        for h in root.get("holidays", []).items()
    ]
    sign_off = []
    for item in root.get("sign_off").items():
        signed_on = item.optional("signed_on")
        signed_by = item.get("signed_by", "").value
        if not isinstance(signed_by, str):
            raise item.get("signed_by").error("must be a string")
        sign_off.append(
            SignOff(
                item.get("party").text(),
                item.get("authority").text(),
                signed_by,
                _date(signed_on) if signed_on else None,
            )
        )
    if len({s.party for s in sign_off}) < 2:
        raise root.get("sign_off").error("must name both parties (two distinct party entries)")
    return Agreement(
        name=root.get("name").text(),
        version=root.get("version").integer(ge=1),
        time_zone=_zone(root.get("time_zone")),
        valid_from=valid_from,
        valid_until=valid_until,
        max_trucks_on_lane=root.get("max_trucks_on_lane").integer(ge=1),
        corridor_empty_at_close=bool(root.get("corridor_empty_at_close", True).value),
        windows=tuple(windows),
        blackouts=tuple(blackouts),
        holidays=tuple(holidays),
        sign_off=tuple(sign_off),
    )


def load_agreement(path: str | Path) -> Agreement:
    """Load and validate an agreement file."""
    return parse_agreement(load_yaml(path), str(path))


def agreement_to_dict(agreement: Agreement) -> dict[str, Any]:
    """The file form of an agreement (inverse of :func:`parse_agreement`)."""

    def interval(i: DailyInterval) -> dict[str, Any]:
        return {
            "id": i.interval_id,
            "time_zone": i.time_zone,
            "open": _hhmm(i.open_min),
            "close": _hhmm(i.close_min),
            "days": list(i.days),
        }

    return {
        "name": agreement.name,
        "version": agreement.version,
        "time_zone": agreement.time_zone,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "max_trucks_on_lane": agreement.max_trucks_on_lane,
        "corridor_empty_at_close": agreement.corridor_empty_at_close,
        "windows": [
            {
                **interval(w.interval),
                "directions": [d.value for d in w.directions],
                "last_entry_margin_min": w.last_entry_margin_min,
            }
            for w in agreement.windows
        ],
        "blackouts": [interval(b) for b in agreement.blackouts],
        "holidays": [
            {"date": h.date.isoformat(), "time_zone": h.time_zone, "name": h.name}
            for h in agreement.holidays
        ],
        "sign_off": [
            {
                "party": s.party,
                "authority": s.authority,
                "signed_by": s.signed_by,
                "signed_on": s.signed_on.isoformat() if s.signed_on else None,
            }
            for s in agreement.sign_off
        ],
    }
