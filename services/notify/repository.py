"""Queries on ``outgoing_mail``; the caller owns the session and its transaction."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import PENDING, SUPPRESSED, OutgoingMail


async def insert_once(session: AsyncSession, *, postgresql: bool, values: dict[str, Any]) -> bool:
    """Insert the mail unless its unique key (one acknowledgement per case) exists; True if inserted."""
    insert = pg_insert if postgresql else sqlite_insert
    result = await session.execute(insert(OutgoingMail).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def automatic_mail_times(
    session: AsyncSession, *, recipient: str, since: datetime, limit: int
) -> list[datetime]:
    """When the newest automatic mails to ``recipient`` since ``since`` were registered (not the
    suppressed ones: they never went)."""
    rows = await session.scalars(
        select(OutgoingMail.created_at)
        .where(
            OutgoingMail.auto_recipient == recipient,
            OutgoingMail.created_at >= since,
            OutgoingMail.status != SUPPRESSED,
        )
        .order_by(OutgoingMail.created_at.desc())
        .limit(limit)
    )
    return list(rows)


async def lock_recipient(session: AsyncSession, recipient: str) -> None:
    """PostgreSQL: hold a lock on the recipient until the transaction ends."""
    key = zlib.crc32(f"allsak.notify.recipient.{recipient}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int, skip_locked: bool
) -> Sequence[OutgoingMail]:
    """Take due mail for sending: count the attempt and hide it until ``lease_until``.

    Another sender (or this one after a crash) takes the mail again only when the lease ends.
    """
    query = (
        select(OutgoingMail)
        .where(OutgoingMail.status == PENDING, OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.created_at)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    mails = (await session.scalars(query)).all()
    for mail in mails:
        mail.attempts += 1
        mail.next_attempt_at = lease_until
    await session.flush()
    return mails


async def finish_attempt(
    session: AsyncSession, *, mail_id: str, attempt: int, values: dict[str, Any]
) -> bool:
    """Record the outcome of attempt ``attempt``; False when another sender has claimed it since."""
    result = await session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.status == PENDING, OutgoingMail.attempts == attempt)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(OutgoingMail.next_attempt_at)).where(OutgoingMail.status == PENDING)
    )


async def get(session: AsyncSession, mail_id: str) -> OutgoingMail | None:
    return await session.get(OutgoingMail, mail_id)


async def page(
    session: AsyncSession,
    *,
    case_number: str | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[OutgoingMail]:
    """Mail oldest first, after the (created_at, id) of the previous page's last item."""
    query = select(OutgoingMail).order_by(OutgoingMail.created_at, OutgoingMail.id).limit(limit)
    if case_number is not None:
        query = query.where(OutgoingMail.case_number == case_number)
    if status is not None:
        query = query.where(OutgoingMail.status == status)
    if after is not None:
        created_at, mail_id = after
        query = query.where(
            or_(
                OutgoingMail.created_at > created_at,
                and_(OutgoingMail.created_at == created_at, OutgoingMail.id > mail_id),
            )
        )
    return (await session.scalars(query)).all()
