"""SLA clocks: a pure fold over a case's status history on a business calendar.

Two clocks per case, each with a target in business time. A clock runs only in open business
time; it is paused while the case is in a pausing status (waiting for the customer) and
stopped while the case is done (resolved/closed). The first-response clock also stops for
good at the first public reply; the resolution clock resumes where it left off when a case
is reopened. Because time paused or stopped before a resume does not count, the due time moves
later by exactly that much business time.

History after `now` is ignored, so the state as of any past moment can be recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.cases.domain.calendar import BusinessCalendar

ClockName = Literal["first_response", "resolution"]
EventKind = Literal["sla_warning", "sla_breached"]
Phase = Literal["running", "paused", "stopped"]

FIRST_RESPONSE: ClockName = "first_response"
RESOLUTION: ClockName = "resolution"
SLA_WARNING: EventKind = "sla_warning"
SLA_BREACHED: EventKind = "sla_breached"


@dataclass(frozen=True)
class SlaPolicy:
    first_response: timedelta | None
    resolution: timedelta | None
    warn_ratio: float | None = 0.8
    pausing_statuses: frozenset[str] = frozenset({"waiting_for_customer"})
    done_statuses: frozenset[str] = frozenset({"resolved", "closed"})

    def __post_init__(self) -> None:
        for name, target in (("first_response", self.first_response), ("resolution", self.resolution)):
            if target is not None and target <= timedelta(0):
                raise ValueError(f"{name}: target must be positive, got {target}")
        if self.warn_ratio is not None and not 0 < self.warn_ratio < 1:
            raise ValueError(f"warn_ratio: must be between 0 and 1 (exclusive), got {self.warn_ratio}")
        if both := self.pausing_statuses & self.done_statuses:
            raise ValueError(f"pausing_statuses and done_statuses both name {', '.join(sorted(both))}")


@dataclass(frozen=True)
class ClockState:
    """One clock as of `SlaState.as_of`.

    `elapsed` is business time the clock ran, `held` business time it stood still (paused, or
    stopped before a reopen). `due_at` and `warning_at` are the instants the thresholds were
    crossed if they were (then `breached`/`warned`), else where they fall if the clock keeps
    running from now; None while it is paused or stopped short of them.
    """

    name: ClockName
    target: timedelta
    phase: Phase
    elapsed: timedelta
    held: timedelta
    due_at: datetime | None
    warning_at: datetime | None
    breached: bool
    warned: bool

    @property
    def remaining(self) -> timedelta:
        """Business time left before the breach; negative once overdue."""
        return self.target - self.elapsed


@dataclass(frozen=True)
class SlaState:
    as_of: datetime
    first_response: ClockState | None
    resolution: ClockState | None

    @property
    def first_response_due_at(self) -> datetime | None:
        return self.first_response.due_at if self.first_response else None

    @property
    def resolution_due_at(self) -> datetime | None:
        return self.resolution.due_at if self.resolution else None

    @property
    def clocks(self) -> tuple[ClockState, ...]:
        return tuple(clock for clock in (self.first_response, self.resolution) if clock is not None)


@dataclass(frozen=True)
class SlaEvent:
    kind: EventKind
    clock: ClockName
    at: datetime

    @property
    def key(self) -> tuple[ClockName, EventKind]:
        """Each clock warns and breaches at most once, so this identifies the event across recomputes."""
        return (self.clock, self.kind)


Span = tuple[datetime, datetime, str]
PhaseOf = Callable[[datetime, str], Phase]  # the clock's phase in a span, from its start and status


def compute_sla(
    *,
    created_at: datetime,
    changes: Sequence[tuple[datetime, str]],
    first_response_at: datetime | None,
    calendar: BusinessCalendar,
    policy: SlaPolicy,
    now: datetime,
    initial_status: str = "new",
) -> SlaState:
    """Fold the status history from created_at to now into the state of both clocks."""
    created_at, now = _utc(created_at, "created_at"), _utc(now, "now")
    if now < created_at:
        raise ValueError(f"now ({now.isoformat()}) is before created_at ({created_at.isoformat()})")
    history = sorted(((_utc(at, "changes"), status) for at, status in changes), key=lambda change: change[0])
    if history and history[0][0] < created_at:
        raise ValueError(f"changes: status change at {history[0][0].isoformat()} is before created_at")
    replied_at = None if first_response_at is None else _utc(first_response_at, "first_response_at")
    if replied_at is not None and replied_at < created_at:
        raise ValueError(f"first_response_at ({replied_at.isoformat()}) is before created_at")
    if replied_at is not None and replied_at > now:
        replied_at = None  # not yet known as of now

    def first_response_phase(start: datetime, status: str) -> Phase:
        return "stopped" if replied_at is not None and start >= replied_at else _phase(policy, status)

    def resolution_phase(start: datetime, status: str) -> Phase:
        return _phase(policy, status)

    first = resolution = None
    if policy.first_response is not None:
        spans = _spans(created_at, history, initial_status, now, cut=replied_at)
        first = _fold(
            FIRST_RESPONSE, policy.first_response, policy, spans, first_response_phase, calendar, now
        )
    if policy.resolution is not None:
        spans = _spans(created_at, history, initial_status, now, cut=None)
        resolution = _fold(RESOLUTION, policy.resolution, policy, spans, resolution_phase, calendar, now)
    return SlaState(as_of=now, first_response=first, resolution=resolution)


def next_events(state: SlaState, *, handled: Set[tuple[str, str]] = frozenset()) -> list[SlaEvent]:
    """Warnings and breaches to schedule, soonest first, leaving out those already handled.

    Includes events whose time has passed but that nobody handled yet (the timer fires them at
    once); leaves out events a paused or stopped clock cannot reach until it runs again.
    """
    events = []
    for clock in state.clocks:
        if clock.warning_at is not None:
            events.append(SlaEvent(SLA_WARNING, clock.name, clock.warning_at))
        if clock.due_at is not None:
            events.append(SlaEvent(SLA_BREACHED, clock.name, clock.due_at))
    return sorted((event for event in events if event.key not in handled), key=lambda event: event.at)


def due_events(state: SlaState, *, handled: Set[tuple[str, str]] = frozenset()) -> list[SlaEvent]:
    """The events that have happened by state.as_of and are not yet handled: what a timer emits."""
    return [event for event in next_events(state, handled=handled) if event.at <= state.as_of]


def _phase(policy: SlaPolicy, status: str) -> Phase:
    if status in policy.done_statuses:
        return "stopped"
    return "paused" if status in policy.pausing_statuses else "running"


def _spans(
    created_at: datetime,
    history: list[tuple[datetime, str]],
    initial_status: str,
    now: datetime,
    cut: datetime | None,
) -> list[Span]:
    """[start, end) pieces from created_at to now with the status in force; `cut` splits one."""
    marks: list[tuple[datetime, str | None]] = [(at, status) for at, status in history if at <= now]
    if cut is not None:
        marks.append((cut, None))  # no status change, only a boundary
        marks.sort(key=lambda mark: mark[0])
    spans: list[Span] = []
    start, status = created_at, initial_status
    for at, new_status in marks:
        spans.append((start, at, status))
        start, status = at, status if new_status is None else new_status
    spans.append((start, now, status))
    return spans


def _fold(
    name: ClockName,
    target: timedelta,
    policy: SlaPolicy,
    spans: list[Span],
    phase_of: PhaseOf,
    calendar: BusinessCalendar,
    now: datetime,
) -> ClockState:
    warn = None if policy.warn_ratio is None else target * policy.warn_ratio
    elapsed = held = timedelta(0)
    due_at = warning_at = None
    for start, end, status in spans:
        span = calendar.business_time_between(start, end)
        if phase_of(start, status) != "running":
            held += span
            continue
        # The thresholds are crossed inside this span: find the exact instant within it.
        if warn is not None and warning_at is None and elapsed + span >= warn:
            warning_at = calendar.add_business_time(start, warn - elapsed)
        if due_at is None and elapsed + span >= target:
            due_at = calendar.add_business_time(start, target - elapsed)
        elapsed += span
    breached, warned = due_at is not None, warning_at is not None
    phase = phase_of(spans[-1][0], spans[-1][2])
    if phase == "running":
        due_at = due_at or calendar.add_business_time(now, target - elapsed)
        if warn is not None and warning_at is None:
            warning_at = calendar.add_business_time(now, warn - elapsed)
    return ClockState(name, target, phase, elapsed, held, due_at, warning_at, breached, warned)


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)
