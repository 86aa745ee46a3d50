"""The SLA clocks follow the case: registered, changed, replied to.

Called by ``services.cases.lifecycle`` inside the unit of work that changes the case. The clock
row and the case's due times change with the case and commit with it; warnings and breaches are
emitted only by the timer (``timer.py``), which a change wakes by scheduling the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.models import Article, Case
from services.cases.sla import calendars, repository, schedule
from services.cases.sla.models import CaseSla
from services.cases.sla.selection import select_policy
from shared.db import UnitOfWork
from shared.events.cases import FieldChange

# A change of these re-selects the policy; the targets of the new one count from registration.
SELECTING_FIELDS = frozenset({"priority", "type"})
FIRST_RESPONSE_KINDS = frozenset({"reply"})


async def start(uow: UnitOfWork, case: Case) -> None:
    """Pick the policy for a new case and set its due times."""
    with uow.session.no_autoflush:  # the case is not flushed yet; it is, with this row, by the caller
        row = CaseSla(
            case_id=case.id,
            case=case,
            started_at=case.created_at,
            initial_category=case.status_category,
            history=[],
            emitted=[],
            updated_at=uow.now(),
        )
        await _select(uow.session, case, row)
        uow.session.add(row)
        await _recompute(uow.session, case, row, uow.now())


async def case_changed(uow: UnitOfWork, case: Case, diff: Mapping[str, FieldChange]) -> None:
    """Record a change of status category; a change of priority or type re-selects the policy."""
    category = diff.get("status_category")
    reselect = bool(SELECTING_FIELDS & diff.keys())
    if category is None and not reselect:
        return
    now = uow.now()
    row = await _row(uow, case, before=category)
    if category is not None:
        row.history = [*row.history, *schedule.encode_history([(now, category.new)])]
    if reselect:
        await _select(uow.session, case, row)
    await _recompute(uow.session, case, row, now)


async def article_added(uow: UnitOfWork, case: Case, article: Article) -> None:
    """The first public reply stops the first-response clock."""
    if article.internal or article.kind not in FIRST_RESPONSE_KINDS:
        return
    row = await _row(uow, case, before=None)
    if row.first_response_at is not None:
        return
    row.first_response_at = article.created_at
    await _recompute(uow.session, case, row, uow.now())


async def _row(uow: UnitOfWork, case: Case, *, before: FieldChange | None) -> CaseSla:
    """The case's clock row, locked; a case registered before SLA existed gets one now, as if its
    category had been the one it had before this change all along."""
    row = await repository.clock_row(uow.session, case.id, lock=True)
    if row is not None:
        return row
    row = CaseSla(
        case_id=case.id,
        started_at=case.created_at,
        initial_category=before.old if before is not None else case.status_category,
        history=[],
        emitted=[],
        updated_at=uow.now(),
    )
    await _select(uow.session, case, row)
    uow.session.add(row)
    return row


async def _select(session: AsyncSession, case: Case, row: CaseSla) -> None:
    """Copy the targets of the policy the case falls under (agreements valid at registration)."""
    levels = await repository.agreement_levels(session, requester_id=case.requester_id, at=case.created_at)
    policy = select_policy(
        await repository.policies(session),
        priority=case.priority,
        case_type=case.type,
        agreement_levels=levels,
    )
    row.policy_id = policy.id if policy else None
    row.calendar_key = (policy.calendar_key if policy else None) or calendars.DEFAULT_KEY
    row.first_response_minutes = policy.first_response_minutes if policy else None
    row.resolution_minutes = policy.resolution_minutes if policy else None
    row.warn_ratio = policy.warn_ratio if policy else None


async def _recompute(session: AsyncSession, case: Case, row: CaseSla, now: datetime) -> None:
    calendar = await calendars.business_calendar(session, row.calendar_key)
    evaluation = schedule.evaluate(record(row), calendar, now, fire=False)
    apply(case, row, evaluation, now)


def record(row: CaseSla) -> schedule.ClockRecord:
    """The pure form of a stored clock row."""
    return schedule.ClockRecord(
        started_at=row.started_at,
        initial_category=row.initial_category,
        history=schedule.decode_history(row.history),
        first_response_at=row.first_response_at,
        policy=schedule.policy_from_targets(
            row.first_response_minutes, row.resolution_minutes, row.warn_ratio
        ),
        emitted=schedule.decode_keys(row.emitted),
    )


def apply(case: Case, row: CaseSla, evaluation: schedule.Evaluation, now: datetime) -> None:
    """Store an evaluation: the row's schedule and emitted events, the case's due times."""
    state = evaluation.state
    first = state.first_response_due_at if state else None
    resolution = state.resolution_due_at if state else None
    # Only real changes are written: the timer touches the case row as little as it can.
    if case.sla_first_response_due_at != first:
        case.sla_first_response_due_at = first
    if case.sla_resolution_due_at != resolution:
        case.sla_resolution_due_at = resolution
    emitted = schedule.encode_keys(evaluation.emitted)
    if row.emitted != emitted:
        row.emitted = emitted
    row.next_check_at = evaluation.next_check_at
    row.updated_at = now
