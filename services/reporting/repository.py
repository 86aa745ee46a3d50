"""Queries on the case facts: load and store one fact, and the GROUP BY counts of the reports.

The day buckets are a small table of local days (as UTC instants) built from bound values and
joined to the facts, so that the same SQL counts by local date on SQLite and PostgreSQL
without time-zone functions in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, func, literal, or_, select, union_all
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.reporting import domain
from services.reporting.models import CaseFact
from shared.db import UtcDateTime


class FactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, number: str) -> domain.Fact | None:
        """The fact, locked until the transaction ends (PostgreSQL; SQLite locks the database)."""
        row = await self.session.get(CaseFact, number, with_for_update=True, populate_existing=True)
        return None if row is None else _to_fact(row)

    async def insert(self, fact: domain.Fact) -> None:
        """Add a new fact; IntegrityError if another transaction added it since ``get`` saw none."""
        self.session.add(CaseFact(**_columns(fact)))
        await self.session.flush()

    async def update(self, fact: domain.Fact) -> None:
        """Overwrite the fact read (and locked) by ``get`` in this transaction."""
        values = _columns(fact)
        number = values.pop("number")
        await self.session.execute(
            sa_update(CaseFact).where(CaseFact.number == number).values(**values),
            execution_options={"synchronize_session": False},
        )

    async def count_by_day(
        self,
        spans: Sequence[domain.DaySpan],
        column: InstrumentedAttribute[datetime | None],
        *,
        queue: str | None,
    ) -> dict[date, int]:
        """Facts whose ``column`` falls on each local day of the spans."""
        days = _days_table(spans)
        query: Select[Any] = (
            select(days.c.day, func.count(CaseFact.number))
            .select_from(days)
            .join(CaseFact, and_(column >= days.c.start_at, column < days.c.end_at))
            .group_by(days.c.day)
        )
        if queue is not None:
            query = query.where(CaseFact.queue == queue)
        rows = (await self.session.execute(query)).all()
        return {date.fromisoformat(day): int(count) for day, count in rows}

    async def counts_by_queue(
        self, start: datetime, end: datetime, *, queue: str | None
    ) -> list[domain.QueueCounts]:
        """Per queue: created and closed within [start, end), and open at ``end``."""
        created = _within(CaseFact.created_at, start, end)
        closed = _within(CaseFact.closed_at, start, end)
        known_at_end = func.coalesce(CaseFact.created_at, CaseFact.updated_at) < end
        open_at_end = and_(known_at_end, or_(CaseFact.closed_at.is_(None), CaseFact.closed_at >= end))
        query = (
            select(CaseFact.queue, _sum(created), _sum(open_at_end), _sum(closed))
            .where(or_(created, closed, open_at_end))
            .group_by(CaseFact.queue)
            .order_by(CaseFact.queue)
        )
        if queue is not None:
            query = query.where(CaseFact.queue == queue)
        rows = (await self.session.execute(query)).all()
        return [domain.QueueCounts(row[0], int(row[1]), int(row[2]), int(row[3])) for row in rows]


def _within(
    column: InstrumentedAttribute[datetime | None], start: datetime, end: datetime
) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _sum(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _days_table(spans: Sequence[domain.DaySpan]) -> Any:
    rows = [
        select(
            literal(span.day.isoformat(), String).label("day"),
            literal(span.start, UtcDateTime).label("start_at"),
            literal(span.end, UtcDateTime).label("end_at"),
        )
        for span in spans
    ]
    # SQLite allows 500 terms in a compound SELECT; MAX_RANGE_DAYS stays below that.
    return (rows[0] if len(rows) == 1 else union_all(*rows)).cte("report_day")


def _columns(fact: domain.Fact) -> dict[str, Any]:
    values = asdict(fact)
    versions = values.pop("versions")
    values["field_versions"] = {
        name: [at.isoformat(), seen.isoformat()] for name, (at, seen) in versions.items()
    }
    return values


def _to_fact(row: CaseFact) -> domain.Fact:
    return domain.Fact(
        number=row.number,
        queue=row.queue,
        status=row.status,
        updated_at=row.updated_at,
        last_event_at=row.last_event_at,
        type=row.type,
        priority=row.priority,
        channel=row.channel,
        created_at=row.created_at,
        closed_at=row.closed_at,
        versions={
            name: (datetime.fromisoformat(at), datetime.fromisoformat(seen))
            for name, (at, seen) in (row.field_versions or {}).items()
        },
    )
