"""Reporting rules: how events fold into a case fact, status categories, and report windows.

Events arrive at least once and in any order. Every tracked field of a fact remembers the
version (case time, then envelope ``occurred_at``) of the event that set it, and an event
only changes fields whose version is older than its own: an update that arrives before its
creation makes a partial fact that the creation fills in, and an old update never undoes a
newer one. Redeliveries of the same event are already dropped by the inbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.events.cases import CaseCreated, CaseUpdated

# A fact's status is the category of the case's status (statuses are configured per case type;
# the categories are common to all, so reports compare like with like). A case in one of these
# counts as closed; any other category is open. Events from before categories carry none: their
# status was a category.
CLOSED_STATUSES = frozenset({"resolved", "closed"})
TRACKED_FIELDS = ("queue", "type", "priority", "status")
MAX_RANGE_DAYS = 366
DEFAULT_PERIOD_DAYS = 30

Version = tuple[datetime, datetime]
"""(case time of the change, envelope occurred_at): the later wins, the second breaks ties."""


def is_closed(status: str | None) -> bool:
    return status in CLOSED_STATUSES


@dataclass(frozen=True)
class Fact:
    number: str
    queue: str
    status: str
    updated_at: datetime
    last_event_at: datetime
    type: str | None = None
    priority: str | None = None
    channel: str | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    versions: Mapping[str, Version] = field(default_factory=dict)


def apply_created(fact: Fact | None, event: CaseCreated, *, seen: datetime) -> Fact:
    """A creation sets what it knows; fields that a newer update already set keep that value."""
    status = event.status_category or event.status
    values = {"queue": event.queue, "type": event.type, "priority": event.priority, "status": status}
    applied = _apply(fact, event.number, values, version=(event.created_at, seen))
    return replace(applied, created_at=event.created_at, channel=event.channel)


def apply_updated(fact: Fact | None, event: CaseUpdated, *, seen: datetime) -> Fact:
    """An update sets its changed fields and the current status and queue, unless they are newer."""
    values = {name: change.new for name, change in event.changes.items() if name in TRACKED_FIELDS}
    values.update(status=event.status_category or event.status, queue=event.queue)
    return _apply(fact, event.number, values, version=(event.updated_at, seen))


def _apply(fact: Fact | None, number: str, values: dict[str, Any], *, version: Version) -> Fact:
    at, seen = version
    if fact is None:
        fact = Fact(
            number=number, queue=values["queue"], status=values["status"], updated_at=at, last_event_at=seen
        )
    versions = dict(fact.versions)
    changed: dict[str, Any] = {}
    for name, value in values.items():
        current = versions.get(name)
        if current is None or version > current:
            changed[name] = value
            versions[name] = version
    result = replace(
        fact,
        **changed,
        versions=versions,
        updated_at=max(fact.updated_at, at),
        last_event_at=max(fact.last_event_at, seen),
    )
    if "status" in changed:
        result = replace(result, closed_at=closed_at(fact, changed["status"], at=at))
    return result


def closed_at(before: Fact, status: str, *, at: datetime) -> datetime | None:
    """When the case became closed: kept across resolved -> closed, cleared by a reopen."""
    if not is_closed(status):
        return None
    if is_closed(before.status) and before.closed_at is not None:
        return before.closed_at
    return at


# --- report windows -------------------------------------------------------------------------


class RangeError(ValueError):
    """A report period that is reversed or longer than MAX_RANGE_DAYS."""


def check_range(start: date, end: date) -> None:
    if start > end:
        raise RangeError(f"'from' ({start}) must be on or before 'to' ({end})")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise RangeError(f"a report may cover at most {MAX_RANGE_DAYS} days; {start}..{end} covers {days}")


@dataclass(frozen=True)
class DaySpan:
    """One local calendar day as the UTC instants [start, end); 23 or 25 hours around DST."""

    day: date
    start: datetime
    end: datetime


def day_spans(start: date, end: date, zone: ZoneInfo) -> list[DaySpan]:
    check_range(start, end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [
        DaySpan(day, local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)) for day in days
    ]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Counts:
    created: int = 0
    open: int = 0
    closed: int = 0


@dataclass(frozen=True)
class DayCounts:
    day: date
    created: int
    closed: int


@dataclass(frozen=True)
class QueueCounts:
    queue: str
    created: int
    open: int
    closed: int


@dataclass(frozen=True)
class Kpis:
    totals: Counts
    by_day: list[DayCounts]
    by_queue: list[QueueCounts]


def kpis(
    spans: Sequence[DaySpan],
    *,
    created_by_day: Mapping[date, int],
    closed_by_day: Mapping[date, int],
    by_queue: Sequence[QueueCounts],
) -> Kpis:
    """Every day of the period appears, with zeros where nothing happened; totals add up the queues."""
    return Kpis(
        totals=Counts(
            created=sum(q.created for q in by_queue),
            open=sum(q.open for q in by_queue),
            closed=sum(q.closed for q in by_queue),
        ),
        by_day=[
            DayCounts(span.day, created_by_day.get(span.day, 0), closed_by_day.get(span.day, 0))
            for span in spans
        ],
        by_queue=sorted(by_queue, key=lambda q: q.queue),
    )


def default_period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """Fill in a missing end (today) or start (30 days back from the end), then check the range."""
    end = end or (today if start is None or start <= today else start)
    start = start or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    check_range(start, end)
    return start, end
