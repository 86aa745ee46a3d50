"""What a case's clocks need next, from their stored record: scheduling and what the timer emits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.cases.domain.calendar import BusinessCalendar
from services.cases.domain.sla import FIRST_RESPONSE, RESOLUTION, SLA_BREACHED, SLA_WARNING, SlaEvent
from services.cases.sla.schedule import (
    ClockRecord,
    decode_history,
    decode_keys,
    encode_history,
    encode_keys,
    evaluate,
    policy_from_targets,
    state_of,
    worth_emitting,
)

OSLO = ZoneInfo("Europe/Oslo")
OFFICE = BusinessCalendar()
MONDAY_9 = datetime(2026, 3, 16, 9, 0, tzinfo=OSLO)
H = timedelta(hours=1)


def record(
    *,
    history: tuple[tuple[datetime, str], ...] = (),
    emitted: frozenset[tuple[str, str]] = frozenset(),
    first_response_at: datetime | None = None,
) -> ClockRecord:
    return ClockRecord(
        started_at=MONDAY_9,
        initial_category="new",
        history=history,
        first_response_at=first_response_at,
        policy=policy_from_targets(60, 240, 0.5),  # first response 1 h, resolution 4 h, warn halfway
        emitted=emitted,
    )


def test_no_targets_is_no_sla() -> None:
    assert policy_from_targets(None, None, 0.8) is None
    bare = ClockRecord(MONDAY_9, "new", (), None, None)
    assert state_of(bare, OFFICE, MONDAY_9 + H) is None
    assert evaluate(bare, OFFICE, MONDAY_9 + H, fire=True).next_check_at is None


def test_a_change_schedules_the_next_threshold_without_emitting() -> None:
    result = evaluate(record(), OFFICE, MONDAY_9, fire=False)
    assert result.emit == ()
    assert result.next_check_at == MONDAY_9 + 30 * timedelta(minutes=1)  # first-response warning
    late = evaluate(record(), OFFICE, MONDAY_9 + 45 * timedelta(minutes=1), fire=False)
    # Overdue and not emitted: scheduled in the past, so the timer takes it at once.
    assert late.emit == () and late.next_check_at == MONDAY_9 + 30 * timedelta(minutes=1)


def test_the_timer_emits_each_due_event_once_and_schedules_the_next() -> None:
    at_warning = evaluate(record(), OFFICE, MONDAY_9 + 30 * timedelta(minutes=1), fire=True)
    assert [(e.clock, e.kind) for e in at_warning.emit] == [(FIRST_RESPONSE, SLA_WARNING)]
    assert at_warning.emitted == {(FIRST_RESPONSE, SLA_WARNING)}
    assert at_warning.next_check_at == MONDAY_9 + H  # the first-response breach
    again = evaluate(
        record(emitted=at_warning.emitted), OFFICE, MONDAY_9 + 31 * timedelta(minutes=1), fire=True
    )
    assert again.emit == ()


def test_a_warning_found_with_its_breach_is_dropped_but_counted_handled() -> None:
    result = evaluate(record(), OFFICE, MONDAY_9 + 3 * H, fire=True)
    assert [(e.clock, e.kind) for e in result.emit] == [
        (FIRST_RESPONSE, SLA_BREACHED),
        (RESOLUTION, SLA_WARNING),  # resolution warns at 2 h, breaches at 4 h: only the warning is due
    ]
    assert result.emitted == {
        (FIRST_RESPONSE, SLA_WARNING),
        (FIRST_RESPONSE, SLA_BREACHED),
        (RESOLUTION, SLA_WARNING),
    }
    assert result.next_check_at == MONDAY_9 + 4 * H


def test_worth_emitting_keeps_other_clocks_warnings() -> None:
    at = MONDAY_9
    due = [
        SlaEvent(SLA_WARNING, FIRST_RESPONSE, at),
        SlaEvent(SLA_WARNING, RESOLUTION, at),
        SlaEvent(SLA_BREACHED, FIRST_RESPONSE, at),
    ]
    assert worth_emitting(due) == [due[1], due[2]]


def test_nothing_is_scheduled_while_every_clock_is_paused_or_stopped() -> None:
    waiting = record(
        history=((MONDAY_9 + 10 * timedelta(minutes=1), "waiting_for_customer"),),
        first_response_at=MONDAY_9 + 5 * timedelta(minutes=1),
    )
    assert evaluate(waiting, OFFICE, MONDAY_9 + H, fire=False).next_check_at is None


def test_a_clock_before_its_start_is_computed_at_the_start() -> None:
    # Another replica's clock a little behind: no error, the state of the start.
    state = state_of(record(), OFFICE, MONDAY_9 - timedelta(seconds=2))
    assert state is not None and state.as_of == MONDAY_9.astimezone(UTC)


def test_history_and_keys_survive_json() -> None:
    history = ((MONDAY_9.astimezone(UTC), "open"), (MONDAY_9.astimezone(UTC) + H, "resolved"))
    assert decode_history(encode_history(history)) == history
    keys = frozenset({(FIRST_RESPONSE, SLA_WARNING), (RESOLUTION, SLA_BREACHED)})
    assert encode_keys(keys) == ["first_response:sla_warning", "resolution:sla_breached"]
    assert decode_keys(encode_keys(keys)) == keys
