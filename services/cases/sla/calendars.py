"""The calendars SLA clocks run on: stored ones by key, and the built-in default.

A policy that names no calendar uses the one keyed ``default``: the built-in below unless an
admin stored a calendar with that key (``POST /api/v1/calendars`` with key ``default``, or a
``PATCH`` of it, which stores the built-in with the change applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.domain.calendar import WEEKDAYS, BusinessCalendar
from services.cases.sla.models import Calendar

DEFAULT_KEY = "default"
DEFAULT_LABELS = {"en": "Office hours", "nb": "Kontortid"}
DEFAULT_CONFIG: dict[str, Any] = {
    "timezone": "Europe/Oslo",
    "hours": {day: [["08:00", "16:00"]] for day in WEEKDAYS[:5]},
    "country": "NO",
    "yearly_closed": ["12-24", "12-31"],
}


@dataclass(frozen=True)
class CalendarView:
    key: str
    labels: dict[str, str]
    config: dict[str, Any]
    builtin: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def business_calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_config(self.config)


BUILTIN = CalendarView(key=DEFAULT_KEY, labels=DEFAULT_LABELS, config=DEFAULT_CONFIG, builtin=True)


def view(calendar: Calendar) -> CalendarView:
    return CalendarView(
        key=calendar.key,
        labels=dict(calendar.labels),
        config=dict(calendar.config),
        builtin=False,
        created_at=calendar.created_at,
        updated_at=calendar.updated_at,
    )


async def stored(session: AsyncSession, key: str) -> Calendar | None:
    return await session.scalar(select(Calendar).where(Calendar.key == key))


async def find(session: AsyncSession, key: str) -> CalendarView | None:
    """The calendar with this key: stored, or the built-in default; None if there is none."""
    calendar = await stored(session, key)
    if calendar is not None:
        return view(calendar)
    return BUILTIN if key == DEFAULT_KEY else None


async def business_calendar(session: AsyncSession, key: str) -> BusinessCalendar:
    """The calendar a clock runs on. Keys are checked when a policy names them and calendars are
    never deleted, so a missing one means a database edited by hand: the default then applies."""
    found = await find(session, key)
    return (found or BUILTIN).business_calendar()


async def all_calendars(session: AsyncSession) -> list[CalendarView]:
    """Stored calendars by key, with the built-in default unless a stored one replaces it."""
    rows = [view(c) for c in await session.scalars(select(Calendar).order_by(Calendar.key))]
    if all(row.key != DEFAULT_KEY for row in rows):
        rows.append(BUILTIN)
        rows.sort(key=lambda row: row.key)
    return rows
