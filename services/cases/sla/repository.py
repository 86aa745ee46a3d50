"""Queries of SLA: policies, agreement levels, the clock rows and the timer's claims."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from services.cases.customers.models import Agreement
from services.cases.models import Case, Customer
from services.cases.sla.models import CaseSla, Policy


async def policies(session: AsyncSession) -> list[Policy]:
    """Every policy in the order that breaks ties (few: they are configuration)."""
    return list(await session.scalars(select(Policy).order_by(Policy.position, Policy.created_at, Policy.id)))


async def agreement_levels(session: AsyncSession, *, requester_id: str, at: datetime) -> set[str]:
    """SLA levels of the agreements valid at ``at`` held by the requester or their organisation."""
    organisation = select(Customer.organisation_id).where(Customer.id == requester_id).scalar_subquery()
    holder = or_(Agreement.customer_id == requester_id, Agreement.organisation_id == organisation)
    valid = and_(Agreement.valid_from <= at, or_(Agreement.valid_to.is_(None), Agreement.valid_to > at))
    return set(await session.scalars(select(Agreement.sla).where(holder, valid).distinct()))


async def clock_row(session: AsyncSession, case_id: str, *, lock: bool) -> CaseSla | None:
    """A case's clock row, fresh from the database; ``lock`` holds it to the end of the transaction."""
    query = select(CaseSla).where(CaseSla.case_id == case_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, skip_locked: bool
) -> list[tuple[CaseSla, Case]]:
    """Clock rows whose next moment has come, with their cases, locked for this transaction.

    With ``skip_locked`` (PostgreSQL) rows another timer or a change to the case holds are left
    to them; the case row is locked too, in the same order a change to the case takes them
    (case, then clock), so the timer never waits on a change and a change never deadlocks on it.
    """
    query = (
        select(CaseSla, Case)
        .join(Case, Case.id == CaseSla.case_id)
        .where(CaseSla.next_check_at <= now)
        .order_by(CaseSla.next_check_at)
        .limit(limit)
        .options(raiseload(Case.requester))
        .execution_options(populate_existing=True)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=[CaseSla, Case])
    return [(row.CaseSla, row.Case) for row in await session.execute(query)]


async def earliest_check(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(CaseSla.next_check_at)))


async def reschedule_calendar(session: AsyncSession, *, key: str, now: datetime) -> None:
    """Make the timer recompute every scheduled clock on the calendar (its hours changed)."""
    await session.execute(
        update(CaseSla)
        .where(CaseSla.calendar_key == key, CaseSla.next_check_at.is_not(None))
        .values(next_check_at=now)
    )
