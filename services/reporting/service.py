"""Reporting use cases: fold case events into facts, and count KPIs over a period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from services.reporting import domain
from services.reporting.models import CaseFact
from services.reporting.repository import FactRepository
from shared.db import Database, UnitOfWork
from shared.events.base import Envelope
from shared.events.cases import CaseCreated, CaseUpdated


async def record_case_created(uow: UnitOfWork, *, event: CaseCreated, envelope: Envelope) -> None:
    """Fill in the fact of a new case; runs inside the inbox's unit of work, which commits."""
    await _fold(uow, event.number, lambda fact: domain.apply_created(fact, event, seen=envelope.occurred_at))


async def record_case_updated(uow: UnitOfWork, *, event: CaseUpdated, envelope: Envelope) -> None:
    """Apply a case's changes to its fact, unless a newer event already set those fields."""
    await _fold(uow, event.number, lambda fact: domain.apply_updated(fact, event, seen=envelope.occurred_at))


async def kpis(
    db: Database, *, start: date, end: date, zone: ZoneInfo, queue: str | None = None
) -> domain.Kpis:
    """Cases created and closed per local day and per queue in [start, end], and open at its end."""
    spans = domain.day_spans(start, end, zone)
    async with db.uow() as uow:
        facts = FactRepository(uow.session)
        created = await facts.count_by_day(spans, CaseFact.created_at, queue=queue)
        closed = await facts.count_by_day(spans, CaseFact.closed_at, queue=queue)
        by_queue = await facts.counts_by_queue(spans[0].start, spans[-1].end, queue=queue)
    return domain.kpis(spans, created_by_day=created, closed_by_day=closed, by_queue=by_queue)


async def _fold(uow: UnitOfWork, number: str, fold: Callable[[domain.Fact | None], domain.Fact]) -> None:
    """Read the fact (locked), fold the event in, write it back.

    Two first events of one case may be handled at once (PostgreSQL): both read no fact and
    both insert. The insert that comes second fails instead of overwriting the first (no
    merge-style upsert here), and is folded again into the row the first one committed.
    """
    facts = FactRepository(uow.session)
    try:
        async with uow.session.begin_nested():
            await _write(facts, number, fold)
    except IntegrityError:
        await _write(facts, number, fold)


async def _write(
    facts: FactRepository, number: str, fold: Callable[[domain.Fact | None], domain.Fact]
) -> None:
    current = await facts.get(number)
    if current is None:
        await facts.insert(fold(None))
    else:
        await facts.update(fold(current))
