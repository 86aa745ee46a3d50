"""Queries on the gateway's tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import ApiToken, Session


async def token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


async def token_by_id(session: AsyncSession, token_id: str) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    result = await session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))
    return result.all()


async def active_tokens_named(session: AsyncSession, name: str) -> Sequence[ApiToken]:
    result = await session.scalars(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    )
    return result.all()


async def touch_token(session: AsyncSession, token_id: str, now: datetime) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


async def live_session(session: AsyncSession, session_id: str, now: datetime) -> Session | None:
    """A session that has not expired and whose token is not revoked."""
    query = (
        select(Session)
        .join(ApiToken, ApiToken.id == Session.token_id)
        .where(Session.id == session_id, Session.expires_at > now, ApiToken.revoked_at.is_(None))
    )
    return await session.scalar(query)


async def delete_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(Session).where(Session.id == session_id))


async def delete_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(Session).where(Session.expires_at <= now))


async def delete_sessions_of(session: AsyncSession, token_id: str) -> None:
    await session.execute(delete(Session).where(Session.token_id == token_id))
