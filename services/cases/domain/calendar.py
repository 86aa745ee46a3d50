"""Business hours: when an SLA clock may run.

Opening hours are local wall-clock intervals per weekday in the calendar's time zone. A day's
hours come from, in order of precedence: a dated closed day, a dated override ("half day"),
a public holiday (the `holidays` package) or a yearly closed day, a yearly override (clipped
to that weekday's usual hours, so "24 Dec until 12:00" never opens a Saturday), the weekday.
Every function takes aware datetimes and returns UTC; all arithmetic is done in UTC, so DST
days are 23 or 25 hours long and an interval spanning the switch is as long as it really is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
# A calendar closed this many days in a row is treated as a configuration error, not waited out.
MAX_CLOSED_DAYS = 3 * 366

Interval = tuple[int, int]  # [start, end) in minutes after local midnight; end may be 1440 (24:00)
Hours = tuple[Interval, ...]
MonthDay = tuple[int, int]

OFFICE_HOURS: Hours = ((8 * 60, 16 * 60),)
ALL_DAY: Hours = ((0, DAY_MINUTES),)
_CONFIG_KEYS = {"timezone", "hours", "country", "closed", "yearly_closed", "half_days", "yearly_half_days"}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Oslo"))
    weekly: tuple[Hours, ...] = (OFFICE_HOURS,) * 5 + ((), ())
    country: str | None = "NO"
    closed: frozenset[date] = frozenset()
    yearly_closed: frozenset[MonthDay] = frozenset()
    half_days: Mapping[date, Hours] = field(default_factory=dict)
    yearly_half_days: Mapping[MonthDay, Hours] = field(default_factory=dict)
    _holidays: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError(f"weekly: need 7 weekdays (mon..sun), got {len(self.weekly)}")
        for name, hours in zip(WEEKDAYS, self.weekly, strict=True):
            _check_hours(hours, f"hours.{name}")
        if not any(self.weekly):
            raise ValueError("hours: at least one weekday must have opening hours")
        for day, hours in self.half_days.items():
            _check_hours(hours, f"half_days.{day.isoformat()}")
        for (month, dom), hours in self.yearly_half_days.items():
            _check_hours(hours, f"yearly_half_days.{month:02d}-{dom:02d}")
        if both := self.closed & set(self.half_days):
            raise ValueError(f"closed and half_days both name {_dates(both)}")
        if both_yearly := self.yearly_closed & set(self.yearly_half_days):
            listed = ", ".join(f"{m:02d}-{d:02d}" for m, d in sorted(both_yearly))
            raise ValueError(f"yearly_closed and yearly_half_days both name {listed}")
        if self.country is not None and self.country not in holidays.list_supported_countries():
            raise ValueError(f"country: {self.country!r} is not a country the holidays package knows")

    @classmethod
    def always_open(cls, timezone: str = "Europe/Oslo") -> BusinessCalendar:
        """A 24/7 calendar: every hour counts, public holidays included."""
        return cls(timezone=ZoneInfo(timezone), weekly=(ALL_DAY,) * 7, country=None)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BusinessCalendar:
        """Build from the JSON form stored per calendar; a ValueError names the bad field.

        Missing fields mean Europe/Oslo, Mon-Fri 08:00-16:00, Norwegian public holidays and no
        extra days; `"hours": "24/7"` with `"country": null` is a calendar that never closes.
        """
        if unknown := set(config) - _CONFIG_KEYS:
            raise ValueError(f"unknown calendar field(s): {', '.join(sorted(unknown))}")
        hours = config.get("hours", {name: [["08:00", "16:00"]] for name in WEEKDAYS[:5]})
        if hours == "24/7":
            weekly: tuple[Hours, ...] = (ALL_DAY,) * 7
        elif isinstance(hours, Mapping):
            if bad := set(hours) - set(WEEKDAYS):
                raise ValueError(
                    f"hours: unknown weekday(s) {', '.join(sorted(bad))}; use {', '.join(WEEKDAYS)}"
                )
            weekly = tuple(_parse_hours(hours.get(name, []), f"hours.{name}") for name in WEEKDAYS)
        else:
            raise ValueError('hours: expected a mapping of weekday to intervals, or "24/7"')
        country = config.get("country", "NO")
        if country is not None and not isinstance(country, str):
            raise ValueError(f"country: expected a country code such as 'NO' or null, got {country!r}")
        return cls(
            timezone=_parse_zone(config.get("timezone", "Europe/Oslo")),
            weekly=weekly,
            country=country,
            closed=frozenset(_parse_date(v, f"closed[{i}]") for i, v in enumerate(_list(config, "closed"))),
            yearly_closed=frozenset(
                _parse_month_day(v, f"yearly_closed[{i}]")
                for i, v in enumerate(_list(config, "yearly_closed"))
            ),
            half_days={
                _parse_date(k, f"half_days.{k}"): _parse_hours(v, f"half_days.{k}")
                for k, v in _mapping(config, "half_days").items()
            },
            yearly_half_days={
                _parse_month_day(k, f"yearly_half_days.{k}"): _parse_hours(v, f"yearly_half_days.{k}")
                for k, v in _mapping(config, "yearly_half_days").items()
            },
        )

    def hours_on(self, day: date) -> Hours:
        """The local opening intervals of one calendar day after all overrides."""
        if day in self.closed:
            return ()
        if day in self.half_days:
            return self.half_days[day]
        if (day.month, day.day) in self.yearly_closed or day in self._holidays_in(day.year):
            return ()
        usual = self.weekly[day.weekday()]
        yearly = self.yearly_half_days.get((day.month, day.day))
        return usual if yearly is None else _clip(usual, yearly)

    def is_open(self, at: datetime) -> bool:
        at = _utc(at, "at")
        return any(start <= at < end for start, end in self._day_spans(at.astimezone(self.timezone).date()))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if open, else the start of the next open interval."""
        for start, _ in self._spans_from(_utc(at, "at")):
            return start
        raise AssertionError("unreachable: _spans_from raises when it runs out")

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of open time has passed since `start`.

        Lands on the end of an interval rather than the start of the next one when the duration
        runs out exactly there (a deadline at 16:00, not 08:00 the next working day).
        """
        start = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if not duration:
            return start
        left = duration
        for span_start, span_end in self._spans_from(start):
            if left <= span_end - span_start:
                return span_start + left
            left -= span_end - span_start
        raise AssertionError("unreachable: _spans_from raises when it runs out")

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); negative when end is before start."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end < start:
            return -self.business_time_between(end, start)
        total = timedelta(0)
        for span_start, span_end in self._spans_from(start, until=end):
            total += min(span_end, end) - span_start
        return total

    def _spans_from(self, at: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, clipped to begin no earlier than `at`, in order; stops at `until`."""
        day = at.astimezone(self.timezone).date()
        closed_days = 0
        while until is None or self._instant(day, 0) < until:
            found = False
            for start, end in self._day_spans(day):
                if until is not None and start >= until:
                    return
                if end > at:
                    found = True
                    yield max(start, at), end
            closed_days = 0 if found else closed_days + 1
            if closed_days > MAX_CLOSED_DAYS:
                raise ValueError(f"calendar has no open time in the {MAX_CLOSED_DAYS} days after {day}")
            day += timedelta(days=1)

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        spans = [(self._instant(day, start), self._instant(day, end)) for start, end in self.hours_on(day)]
        # An interval wholly inside a DST gap collapses to nothing.
        return [(start, end) for start, end in spans if end > start]

    def _instant(self, day: date, minute: int) -> datetime:
        """Local wall-clock minute of a day as UTC; 24:00 is the next midnight.

        A wall time in a DST gap does not exist: it maps to the moment the clocks jump (the
        first wall minute after the gap), which keeps the mapping monotonic, so intervals
        never overlap or run backwards. An ambiguous time takes its first occurrence (fold=0).
        """
        midnight = datetime.combine(day, time())
        for step in range(DAY_MINUTES + 1):
            wall = midnight + timedelta(minutes=minute + step)
            instant = wall.replace(tzinfo=self.timezone).astimezone(UTC)
            if instant.astimezone(self.timezone).replace(tzinfo=None) == wall:
                return instant
        raise ValueError(f"timezone {self.timezone.key}: no wall time exists after {day} minute {minute}")

    def _holidays_in(self, year: int) -> frozenset[date]:
        if self.country is None:
            return frozenset()
        if year not in self._holidays:
            self._holidays[year] = frozenset(holidays.country_holidays(self.country, years=year))
        return self._holidays[year]


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _clip(usual: Hours, limit: Hours) -> Hours:
    clipped = [(max(a, c), min(b, d)) for a, b in usual for c, d in limit]
    return tuple(sorted((start, end) for start, end in clipped if start < end))


def _check_hours(hours: Hours, name: str) -> None:
    previous_end = 0
    for start, end in hours:
        if not 0 <= start < end <= DAY_MINUTES:
            raise ValueError(
                f"{name}: interval {_hhmm(start)}-{_hhmm(end)} must start before it ends, within a day"
            )
        if start < previous_end:
            raise ValueError(f"{name}: intervals must be in order and must not overlap")
        previous_end = end


def _parse_hours(value: Any, name: str) -> Hours:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{name}: expected a list of [start, end] pairs such as [['08:00', '16:00']]")
    hours: list[Interval] = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(f"{name}[{i}]: expected a [start, end] pair, got {pair!r}")
        hours.append((_parse_clock(pair[0], f"{name}[{i}]"), _parse_clock(pair[1], f"{name}[{i}]")))
    hours = sorted(hours)
    _check_hours(tuple(hours), name)
    return tuple(hours)


def _parse_clock(value: Any, name: str) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if not match or int(match[2]) > 59 or not 0 <= minutes <= DAY_MINUTES:
        raise ValueError(f"{name}: {value!r} is not a time of day HH:MM (00:00-24:00)")
    return minutes


def _parse_date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a date YYYY-MM-DD") from None


def _parse_month_day(value: Any, name: str) -> MonthDay:
    try:
        leap = date.fromisoformat(f"2000-{value}") if isinstance(value, str) and len(value) == 5 else None
    except ValueError:
        leap = None
    if leap is None:
        raise ValueError(f"{name}: {value!r} is not a yearly date MM-DD")
    return leap.month, leap.day


def _parse_zone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone: {value!r} is not an IANA time zone such as 'Europe/Oslo'") from None


def _list(config: Mapping[str, Any], key: str) -> list[Any]:
    value = config.get(key, [])
    if not isinstance(value, list | tuple):
        raise ValueError(f"{key}: expected a list, got {type(value).__name__}")
    return list(value)


def _mapping(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected a mapping of date to intervals, got {type(value).__name__}")
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dates(days: Set[date]) -> str:
    return ", ".join(day.isoformat() for day in sorted(days))
