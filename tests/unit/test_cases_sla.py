from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases.domain.calendar import BusinessCalendar
from services.cases.domain.sla import (
    FIRST_RESPONSE,
    RESOLUTION,
    SLA_BREACHED,
    SLA_WARNING,
    SlaEvent,
    SlaPolicy,
    SlaState,
    compute_sla,
    due_events,
    next_events,
)
from services.cases.domain.statuses import Status

OSLO = ZoneInfo("Europe/Oslo")
H = timedelta(hours=1)
OFFICE = BusinessCalendar()  # Europe/Oslo, Mon-Fri 08:00-16:00, Norwegian public holidays
POLICY = SlaPolicy(first_response=4 * H, resolution=16 * H)  # warn at 80 %
WAITING, OPEN, RESOLVED = Status.WAITING_FOR_CUSTOMER, Status.OPEN, Status.RESOLVED


def oslo(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


MONDAY_10 = oslo(2026, 3, 16, 10)  # 09:00Z


def sla(
    *,
    now: datetime,
    created_at: datetime = MONDAY_10,
    changes: list[tuple[datetime, str]] | None = None,
    first_response_at: datetime | None = None,
    policy: SlaPolicy = POLICY,
    calendar: BusinessCalendar = OFFICE,
) -> SlaState:
    return compute_sla(
        created_at=created_at,
        changes=changes or [],
        first_response_at=first_response_at,
        calendar=calendar,
        policy=policy,
        now=now,
    )


def test_due_and_warning_times_on_business_hours() -> None:
    state = sla(now=MONDAY_10)
    first, resolution = state.first_response, state.resolution
    assert first is not None and resolution is not None
    assert state.first_response_due_at == utc(2026, 3, 16, 13)  # Mon 14:00 CET
    assert first.warning_at == utc(2026, 3, 16, 12, 12)  # 80 % of 4h = 3h12m -> 13:12 CET
    # 16h: Mon 10-16 (6h) + Tue 8h + Wed 08-10 -> Wed 10:00 CET
    assert state.resolution_due_at == utc(2026, 3, 18, 9)
    assert resolution.warning_at == utc(2026, 3, 17, 13, 48)  # 12h48m -> Tue 14:48 CET
    assert (first.phase, first.elapsed, first.remaining, first.breached) == (
        "running",
        timedelta(0),
        4 * H,
        False,
    )


def test_elapsed_and_remaining_count_business_time_only() -> None:
    state = sla(now=oslo(2026, 3, 17, 9))  # Tuesday 09:00: Mon 10-16 plus Tue 08-09
    assert state.resolution is not None
    assert state.resolution.elapsed == 7 * H
    assert state.resolution.remaining == 9 * H
    assert state.first_response is not None and state.first_response.remaining == -3 * H


def test_first_response_stops_at_the_first_public_reply() -> None:
    state = sla(now=oslo(2026, 3, 17, 12), first_response_at=oslo(2026, 3, 16, 12))
    first = state.first_response
    assert first is not None
    assert (first.phase, first.elapsed, first.due_at, first.breached, first.warned) == (
        "stopped",
        2 * H,
        None,
        False,
        False,
    )
    assert [event.clock for event in next_events(state)] == [RESOLUTION, RESOLUTION]


def test_late_first_reply_is_a_breach_at_the_due_time() -> None:
    first = sla(now=oslo(2026, 3, 17, 12), first_response_at=oslo(2026, 3, 17, 9)).first_response
    assert first is not None
    assert (first.phase, first.breached, first.due_at, first.elapsed) == (
        "stopped",
        True,
        utc(2026, 3, 16, 13),
        7 * H,
    )


def test_reply_not_yet_made_as_of_now_is_ignored() -> None:
    state = sla(now=oslo(2026, 3, 16, 11), first_response_at=oslo(2026, 3, 16, 12))
    assert state.first_response is not None and state.first_response.phase == "running"


def test_waiting_for_customer_over_a_weekend_shifts_due_by_the_paused_business_time_only() -> None:
    friday_14 = oslo(2026, 3, 13, 14)
    unpaused = sla(created_at=friday_14, now=friday_14)
    # Fri 14-16 (2h) + Mon 8h + Tue 08-14 (6h) -> Tue 17 March 14:00 CET
    assert unpaused.resolution_due_at == utc(2026, 3, 17, 13)
    changes: list[tuple[datetime, str]] = [(oslo(2026, 3, 13, 15), WAITING), (oslo(2026, 3, 16, 10), OPEN)]
    state = sla(created_at=friday_14, changes=changes, now=oslo(2026, 3, 16, 10))
    resolution = state.resolution
    assert resolution is not None
    # paused Fri 15-16 and Mon 08-10: 3 business hours; the weekend costs nothing
    assert (resolution.elapsed, resolution.held) == (H, 3 * H)
    assert state.resolution_due_at == utc(2026, 3, 18, 8)  # Wed 18 March 09:00 CET
    assert OFFICE.business_time_between(utc(2026, 3, 17, 13), utc(2026, 3, 18, 8)) == 3 * H
    assert state.first_response_due_at == utc(2026, 3, 16, 12)  # 1h ran Friday, 3h left from Mon 10:00


def test_pause_inside_closed_hours_changes_nothing() -> None:
    changes: list[tuple[datetime, str]] = [
        (oslo(2026, 3, 13, 16, 30), WAITING),
        (oslo(2026, 3, 16, 7, 30), OPEN),
    ]
    state = sla(created_at=oslo(2026, 3, 13, 14), changes=changes, now=oslo(2026, 3, 16, 9))
    assert state.resolution is not None and state.resolution.held == timedelta(0)
    assert state.resolution_due_at == utc(2026, 3, 17, 13)


def test_while_paused_there_is_no_due_time_and_nothing_to_schedule() -> None:
    changes: list[tuple[datetime, str]] = [(oslo(2026, 3, 13, 15), WAITING)]
    state = sla(created_at=oslo(2026, 3, 13, 14), changes=changes, now=oslo(2026, 3, 16, 12))
    resolution = state.resolution
    assert resolution is not None
    assert (resolution.phase, resolution.due_at, resolution.remaining, resolution.held) == (
        "paused",
        None,
        15 * H,
        5 * H,
    )
    assert next_events(state) == []


def test_pausing_statuses_are_configurable() -> None:
    policy = SlaPolicy(
        first_response=None, resolution=16 * H, pausing_statuses=frozenset({WAITING, "on_hold"})
    )
    changes: list[tuple[datetime, str]] = [(oslo(2026, 3, 16, 11), "on_hold")]
    assert sla(changes=changes, policy=policy, now=oslo(2026, 3, 16, 12)).first_response is None
    resolution = sla(changes=changes, policy=policy, now=oslo(2026, 3, 16, 12)).resolution
    assert resolution is not None and resolution.phase == "paused"
    resolution = sla(changes=[(oslo(2026, 3, 16, 11), WAITING)], now=oslo(2026, 3, 16, 12)).resolution
    assert resolution is not None and resolution.phase == "paused"
    resolution = sla(changes=[(oslo(2026, 3, 16, 11), "on_hold")], now=oslo(2026, 3, 16, 12)).resolution
    assert resolution is not None and resolution.phase == "running"  # not pausing under the default policy


def test_resolution_stops_when_resolved_and_resumes_when_reopened() -> None:
    resolved = [(oslo(2026, 3, 16, 15), RESOLVED)]
    stopped = sla(changes=list(resolved), now=oslo(2026, 3, 17, 12)).resolution
    assert stopped is not None
    assert (stopped.phase, stopped.elapsed, stopped.due_at, stopped.breached) == (
        "stopped",
        5 * H,
        None,
        False,
    )
    reopened = sla(changes=[*resolved, (oslo(2026, 3, 18, 10), OPEN)], now=oslo(2026, 3, 18, 10)).resolution
    assert reopened is not None
    # 11h left from Wed 10:00: Wed 10-16 (6h) + Thu 08-13 -> Thu 19 March 13:00 CET
    assert (reopened.phase, reopened.elapsed, reopened.held) == ("running", 5 * H, 11 * H)
    assert reopened.due_at == utc(2026, 3, 19, 12)


def test_case_closed_without_a_reply_stops_the_first_response_clock() -> None:
    first = sla(changes=[(oslo(2026, 3, 16, 11), Status.CLOSED)], now=oslo(2026, 3, 20, 12)).first_response
    assert first is not None and (first.phase, first.breached, first.elapsed) == ("stopped", False, H)


def test_warning_at_80_percent_and_configurable() -> None:
    before = sla(now=oslo(2026, 3, 16, 13, 11)).first_response
    at = sla(now=oslo(2026, 3, 16, 13, 12)).first_response
    assert before is not None and at is not None
    assert (before.warned, at.warned, at.warning_at) == (False, True, utc(2026, 3, 16, 12, 12))
    half = sla(policy=SlaPolicy(first_response=4 * H, resolution=None, warn_ratio=0.5), now=MONDAY_10)
    assert half.first_response is not None and half.first_response.warning_at == utc(2026, 3, 16, 11)
    quiet = sla(policy=SlaPolicy(first_response=4 * H, resolution=None, warn_ratio=None), now=MONDAY_10)
    assert next_events(quiet) == [SlaEvent(SLA_BREACHED, FIRST_RESPONSE, utc(2026, 3, 16, 13))]


def test_breach_happens_at_the_due_instant() -> None:
    assert sla(now=oslo(2026, 3, 16, 13, 59)).first_response.breached is False  # type: ignore[union-attr]
    assert sla(now=oslo(2026, 3, 16, 14)).first_response.breached is True  # type: ignore[union-attr]


def test_next_events_lists_all_unhandled_events_soonest_first() -> None:
    state = sla(now=oslo(2026, 3, 16, 14, 30))
    assert next_events(state) == [
        SlaEvent(SLA_WARNING, FIRST_RESPONSE, utc(2026, 3, 16, 12, 12)),
        SlaEvent(SLA_BREACHED, FIRST_RESPONSE, utc(2026, 3, 16, 13)),
        SlaEvent(SLA_WARNING, RESOLUTION, utc(2026, 3, 17, 13, 48)),
        SlaEvent(SLA_BREACHED, RESOLUTION, utc(2026, 3, 18, 9)),
    ]
    assert due_events(state) == next_events(state)[:2]


def test_next_events_never_repeats_a_handled_event() -> None:
    handled = {(FIRST_RESPONSE, SLA_WARNING), (FIRST_RESPONSE, SLA_BREACHED)}
    state = sla(now=oslo(2026, 3, 16, 14, 30))
    assert next_events(state, handled=handled) == [
        SlaEvent(SLA_WARNING, RESOLUTION, utc(2026, 3, 17, 13, 48)),
        SlaEvent(SLA_BREACHED, RESOLUTION, utc(2026, 3, 18, 9)),
    ]
    assert due_events(state, handled=handled) == []
    # A later recompute after a pause moves the resolution times; the handled ones stay out.
    handled.add((RESOLUTION, SLA_WARNING))
    changes: list[tuple[datetime, str]] = [(oslo(2026, 3, 17, 8), WAITING), (oslo(2026, 3, 17, 10), OPEN)]
    later = sla(changes=changes, now=oslo(2026, 3, 17, 15))
    assert next_events(later, handled=handled) == [SlaEvent(SLA_BREACHED, RESOLUTION, utc(2026, 3, 18, 11))]


def test_always_open_calendar_across_the_spring_switch() -> None:
    state = sla(
        created_at=oslo(2026, 3, 28, 22), calendar=BusinessCalendar.always_open(), now=oslo(2026, 3, 28, 22)
    )
    assert state.first_response_due_at == utc(2026, 3, 29, 1)  # 03:00 CEST: four real hours later


def test_history_order_does_not_matter_and_later_history_is_ignored() -> None:
    changes: list[tuple[datetime, str]] = [(oslo(2026, 3, 17, 10), OPEN), (oslo(2026, 3, 17, 8), WAITING)]
    assert sla(changes=changes, now=oslo(2026, 3, 17, 12)) == sla(
        changes=changes[::-1], now=oslo(2026, 3, 17, 12)
    )
    assert sla(changes=changes, now=oslo(2026, 3, 16, 12)) == sla(now=oslo(2026, 3, 16, 12))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="created_at must be an aware"):
        sla(created_at=datetime(2026, 3, 16, 10), now=MONDAY_10)
    with pytest.raises(ValueError, match="is before created_at"):
        sla(changes=[(oslo(2026, 3, 16, 9), OPEN)], now=MONDAY_10)
    with pytest.raises(ValueError, match=r"now .* is before created_at"):
        sla(now=oslo(2026, 3, 16, 9))
    with pytest.raises(ValueError, match="warn_ratio"):
        SlaPolicy(first_response=H, resolution=None, warn_ratio=1.0)
    with pytest.raises(ValueError, match="resolution: target must be positive"):
        SlaPolicy(first_response=H, resolution=timedelta(0))


statuses = st.sampled_from([OPEN, WAITING, RESOLVED, Status.WAITING_FOR_THIRD_PARTY])
steps = st.lists(st.tuples(st.timedeltas(timedelta(0), timedelta(days=4)), statuses), max_size=8)


@settings(max_examples=150, deadline=None)
@given(steps=steps, tail=st.timedeltas(timedelta(0), timedelta(days=3)))
def test_running_and_held_time_add_up_and_due_is_target_plus_held(
    steps: list[tuple[timedelta, str]], tail: timedelta
) -> None:
    changes, at = [], MONDAY_10
    for gap, status in steps:
        at += gap
        changes.append((at, status))
    now = at + tail
    resolution = sla(changes=changes, now=now).resolution
    assert resolution is not None
    assert resolution.elapsed + resolution.held == OFFICE.business_time_between(MONDAY_10, now)
    if resolution.phase == "running" and not resolution.breached:
        assert resolution.due_at is not None
        assert OFFICE.business_time_between(MONDAY_10, resolution.due_at) == 16 * H + resolution.held
