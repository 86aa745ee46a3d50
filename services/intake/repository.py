"""Queries on intake's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Message, Quarantine


async def message(session: AsyncSession, message_id: str) -> Message | None:
    return await session.get(Message, message_id)


async def message_by_digest(session: AsyncSession, raw_sha256: str) -> Message | None:
    return await session.scalar(select(Message).where(Message.raw_sha256 == raw_sha256))


async def quarantine(session: AsyncSession, quarantine_id: str) -> Quarantine | None:
    return await session.get(Quarantine, quarantine_id)


async def quarantine_of(session: AsyncSession, message_id: str) -> Quarantine | None:
    return await session.scalar(select(Quarantine).where(Quarantine.message_id == message_id))


async def quarantine_page(
    session: AsyncSession, *, after: tuple[datetime, str] | None, limit: int, waiting: bool | None
) -> list[Quarantine]:
    """Newest first; ``after`` is the (created_at, id) of the last entry of the previous page."""
    query = select(Quarantine).order_by(Quarantine.created_at.desc(), Quarantine.id.desc()).limit(limit)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            or_(
                Quarantine.created_at < created_at,
                and_(Quarantine.created_at == created_at, Quarantine.id < last_id),
            )
        )
    if waiting is not None:
        query = query.where(
            Quarantine.resolved_at.is_(None) if waiting else Quarantine.resolved_at.is_not(None)
        )
    return list(await session.scalars(query))


async def count_waiting(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
    )
    return int(count or 0)


async def resolve(session: AsyncSession, quarantine_id: str, *, resolution: str, at: datetime) -> bool:
    """Mark resolved unless it already is; False when another request got there first."""
    result = await session.execute(
        update(Quarantine)
        .where(Quarantine.id == quarantine_id, Quarantine.resolved_at.is_(None))
        .values(resolved_at=at, resolution=resolution)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def count_from_sender(
    session: AsyncSession,
    sender_email: str,
    *,
    since: datetime,
    until: datetime,
    except_id: str | None = None,
) -> int:
    """Messages stored from this sender between ``since`` and ``until``, whatever became of them."""
    query = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.sender_email == sender_email,
            Message.received_at >= since,
            Message.received_at <= until,
        )
    )
    if except_id is not None:
        query = query.where(Message.id != except_id)
    return int(await session.scalar(query) or 0)
