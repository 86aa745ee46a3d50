"""What one case's SLA clocks are and need next, from their stored record: pure, no I/O.

The record is the case's status-category history and first response; the domain module
(``services.cases.domain.sla``) folds it into the state of both clocks at ``now``. The timer
emits the warnings and breaches that have happened and not been emitted, each once per case
and clock; a reopened case whose resolution clock runs past its target again is not breached
a second time (consumers get one breach per case and clock to count and to act on).

A warning found only when the breach of the same clock is due too (the timer was down, or a
priority change tightened the target past both) is not emitted but counted as handled: it can
no longer be acted on, and the breach says more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.cases.domain.calendar import BusinessCalendar
from services.cases.domain.sla import SLA_BREACHED, SLA_WARNING, SlaEvent, SlaPolicy, SlaState, compute_sla
from services.cases.domain.sla import due_events as domain_due_events
from services.cases.domain.sla import next_events as domain_next_events

EventKey = tuple[str, str]  # (clock, kind)


@dataclass(frozen=True)
class ClockRecord:
    """One case's clocks as stored: when they started, in which category, what happened since."""

    started_at: datetime
    initial_category: str
    history: tuple[tuple[datetime, str], ...]
    first_response_at: datetime | None
    policy: SlaPolicy | None
    emitted: frozenset[EventKey] = frozenset()


@dataclass(frozen=True)
class Evaluation:
    state: SlaState | None
    emit: tuple[SlaEvent, ...]
    emitted: frozenset[EventKey]
    next_check_at: datetime | None


def policy_from_targets(
    first_response_minutes: int | None, resolution_minutes: int | None, warn_ratio: float | None
) -> SlaPolicy | None:
    """The domain policy for stored targets; None when there is no target at all (no SLA)."""
    if first_response_minutes is None and resolution_minutes is None:
        return None
    return SlaPolicy(
        first_response=_minutes(first_response_minutes),
        resolution=_minutes(resolution_minutes),
        warn_ratio=warn_ratio,
    )


def state_of(record: ClockRecord, calendar: BusinessCalendar, now: datetime) -> SlaState | None:
    """Both clocks as of ``now``; None without a policy."""
    if record.policy is None:
        return None
    return compute_sla(
        created_at=record.started_at,
        changes=record.history,
        first_response_at=record.first_response_at,
        calendar=calendar,
        policy=record.policy,
        # Another replica's clock may be a little behind the one that registered the case.
        now=max(now, record.started_at),
        initial_status=record.initial_category,
    )


def evaluate(record: ClockRecord, calendar: BusinessCalendar, now: datetime, *, fire: bool) -> Evaluation:
    """The state at ``now`` and the next moment to look again; with ``fire``, the events to emit now.

    Without ``fire`` (a change to the case) nothing is emitted here: an event already due is
    scheduled at once, so that only the timer emits and the row lock it holds makes it once.
    """
    state = state_of(record, calendar, now)
    if state is None:
        return Evaluation(None, (), record.emitted, None)
    emit: tuple[SlaEvent, ...] = ()
    emitted = record.emitted
    if fire:
        due = domain_due_events(state, handled=record.emitted)
        emit = tuple(worth_emitting(due))
        emitted = emitted | {event.key for event in due}
    upcoming = domain_next_events(state, handled=emitted)
    return Evaluation(state, emit, emitted, upcoming[0].at if upcoming else None)


def worth_emitting(due: Sequence[SlaEvent]) -> list[SlaEvent]:
    """The due events less a warning of a clock whose breach is due as well."""
    breached = {event.clock for event in due if event.kind == SLA_BREACHED}
    return [event for event in due if not (event.kind == SLA_WARNING and event.clock in breached)]


def encode_history(history: Iterable[tuple[datetime, str]]) -> list[list[str]]:
    return [[at.isoformat(), category] for at, category in history]


def decode_history(stored: Iterable[Sequence[str]]) -> tuple[tuple[datetime, str], ...]:
    return tuple((datetime.fromisoformat(at), category) for at, category in stored)


def encode_keys(keys: Iterable[EventKey]) -> list[str]:
    return sorted(f"{clock}:{kind}" for clock, kind in keys)


def decode_keys(stored: Iterable[str]) -> frozenset[EventKey]:
    return frozenset((clock, kind) for clock, _, kind in (key.partition(":") for key in stored))


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)
