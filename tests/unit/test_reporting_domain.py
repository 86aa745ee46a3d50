"""Reporting rules: folding case events in any order, status categories, local-day windows."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.reporting import domain
from shared.events.cases import CaseCreated, CaseUpdated, FieldChange, Person

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


def created(**fields: Any) -> CaseCreated:
    defaults: dict[str, Any] = {
        "number": "10001",
        "subject": "Printer",
        "status": "new",
        "type": "incident",
        "queue": "IT",
        "priority": "normal",
        "requester": Person(email="kari@kunde.no"),
        "channel": "mail",
        "created_at": T0,
    }
    return CaseCreated(**{**defaults, **fields})


def updated(at: datetime, status: str, queue: str = "IT", **changes: tuple[Any, Any]) -> CaseUpdated:
    return CaseUpdated(
        number="10001",
        changes={name: FieldChange(old=old, new=new) for name, (old, new) in changes.items()},
        origin="user",
        status=status,
        queue=queue,
        updated_at=at,
    )


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_creation_makes_a_complete_open_fact() -> None:
    fact = domain.apply_created(None, created(), seen=at(0))
    assert (fact.queue, fact.type, fact.priority, fact.status, fact.channel) == (
        "IT",
        "incident",
        "normal",
        "new",
        "mail",
    )
    assert fact.created_at == T0 and fact.closed_at is None
    assert fact.updated_at == T0 and fact.last_event_at == at(0)


def test_update_before_creation_makes_a_partial_fact_that_the_creation_completes() -> None:
    update = updated(at(10), "resolved", queue="HR", priority=("normal", "high"))
    partial = domain.apply_updated(None, update, seen=at(10))
    assert partial.created_at is None and partial.type is None and partial.channel is None
    assert (partial.queue, partial.priority, partial.status) == ("HR", "high", "resolved")
    assert partial.closed_at == at(10)

    fact = domain.apply_created(partial, created(), seen=at(0))
    assert fact.created_at == T0 and fact.channel == "mail" and fact.type == "incident"
    # The newer update's values survive the older creation.
    assert (fact.queue, fact.priority, fact.status, fact.closed_at) == ("HR", "high", "resolved", at(10))
    assert fact.updated_at == at(10) and fact.last_event_at == at(10)


def test_an_older_update_never_overwrites_a_newer_one_but_fills_fields_it_alone_changed() -> None:
    fact = domain.apply_created(None, created(), seen=at(0))
    fact = domain.apply_updated(fact, updated(at(20), "closed", queue="HR"), seen=at(20))
    late = updated(at(10), "in_progress", queue="IT", priority=("normal", "high"))
    fact = domain.apply_updated(fact, late, seen=at(21))
    assert (fact.status, fact.queue, fact.closed_at) == ("closed", "HR", at(20))
    assert fact.priority == "high"  # nothing newer touched the priority
    assert fact.updated_at == at(20) and fact.last_event_at == at(21)


def test_reapplying_an_event_changes_nothing() -> None:
    once = domain.apply_updated(
        domain.apply_created(None, created(), seen=at(0)), updated(at(5), "open"), seen=at(5)
    )
    twice = domain.apply_updated(once, updated(at(5), "open"), seen=at(5))
    assert twice == once


def test_equal_case_times_are_ordered_by_when_the_event_occurred() -> None:
    fact = domain.apply_created(None, created(), seen=at(0))
    second = domain.apply_updated(fact, updated(at(5), "closed"), seen=at(6))
    first = updated(at(5), "in_progress")
    assert domain.apply_updated(second, first, seen=at(5)).status == "closed"
    assert domain.apply_updated(second, first, seen=at(7)).status == "in_progress"


def test_creation_in_the_same_instant_as_an_update_does_not_win() -> None:
    update = updated(T0, "in_progress", queue="HR")
    fact = domain.apply_created(domain.apply_updated(None, update, seen=at(1)), created(), seen=at(0))
    assert (fact.status, fact.queue) == ("in_progress", "HR")


@pytest.mark.parametrize(
    ("status", "closed"), [("resolved", True), ("closed", True), ("new", False), ("open", False)]
)
def test_status_categories(status: str, closed: bool) -> None:
    assert domain.is_closed(status) is closed


def test_closed_at_is_kept_from_resolved_to_closed_and_cleared_by_reopening() -> None:
    fact = domain.apply_created(None, created(), seen=at(0))
    fact = domain.apply_updated(fact, updated(at(10), "resolved"), seen=at(10))
    assert fact.closed_at == at(10)
    fact = domain.apply_updated(fact, updated(at(20), "closed"), seen=at(20))
    assert fact.closed_at == at(10)
    fact = domain.apply_updated(fact, updated(at(30), "open"), seen=at(30))
    assert fact.closed_at is None
    fact = domain.apply_updated(fact, updated(at(40), "resolved"), seen=at(40))
    assert fact.closed_at == at(40)


def test_day_spans_are_local_days_including_dst_changes() -> None:
    spans = domain.day_spans(date(2026, 3, 28), date(2026, 3, 30), OSLO)
    assert [s.day for s in spans] == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert spans[0].start == datetime(2026, 3, 27, 23, 0, tzinfo=UTC)
    assert [s.end - s.start for s in spans] == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert spans[2].start == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    autumn = domain.day_spans(date(2026, 10, 25), date(2026, 10, 25), OSLO)
    assert autumn[0].end - autumn[0].start == timedelta(hours=25)
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))


def test_range_is_checked() -> None:
    domain.check_range(date(2026, 1, 1), date(2026, 1, 1))
    domain.check_range(date(2024, 1, 1), date(2024, 12, 31))  # 366 days, a leap year
    with pytest.raises(domain.RangeError, match="on or before"):
        domain.check_range(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(domain.RangeError, match="at most 366 days"):
        domain.check_range(date(2025, 1, 1), date(2026, 1, 2))


def test_kpis_list_every_day_and_add_up_the_queues() -> None:
    spans = domain.day_spans(date(2026, 11, 25), date(2026, 11, 27), OSLO)
    result = domain.kpis(
        spans,
        created_by_day={date(2026, 11, 26): 3},
        closed_by_day={date(2026, 11, 27): 1},
        by_queue=[domain.QueueCounts("IT", 2, 1, 1), domain.QueueCounts("HR", 1, 1, 0)],
    )
    assert result.totals == domain.Counts(created=3, open=2, closed=1)
    assert [(d.day.day, d.created, d.closed) for d in result.by_day] == [(25, 0, 0), (26, 3, 0), (27, 0, 1)]
    assert [q.queue for q in result.by_queue] == ["HR", "IT"]


def test_default_period_is_the_last_30_days_up_to_today() -> None:
    from datetime import date

    from services.reporting.domain import default_period

    today = date(2026, 11, 26)
    assert default_period(None, None, today=today) == (date(2026, 10, 28), today)
    assert default_period(date(2026, 11, 1), None, today=today) == (date(2026, 11, 1), today)
    assert default_period(None, date(2026, 1, 31), today=today) == (date(2026, 1, 2), date(2026, 1, 31))
    with pytest.raises(ValueError, match="at most 366"):
        default_period(date(2024, 1, 1), None, today=today)


def test_a_configured_status_counts_by_its_category() -> None:
    # An invoice type's own "credited" status is in the closed category; "awaiting_approval" waits.
    fact = domain.apply_created(None, created(status="registered", status_category="new"), seen=T0)
    assert fact.status == "new"
    event = updated(at(5), "credited").model_copy(update={"status_category": "closed"})
    fact = domain.apply_updated(fact, event, seen=at(5))
    assert fact.status == "closed" and fact.closed_at == at(5)
    # Events from before categories existed carry none: their status was a category.
    assert domain.apply_updated(None, updated(at(6), "resolved"), seen=at(6)).closed_at == at(6)
