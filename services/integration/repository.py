"""Queries on webhooks and deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.integration import domain
from services.integration.models import Delivery, Webhook

Row = TypeVar("Row", Webhook, Delivery)


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt; ``attempts`` counts this one and fences its result."""

    id: str
    webhook_id: str
    url: str
    secret: str = field(repr=False)
    event_name: str
    body: str
    attempts: int


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, webhook: Webhook) -> None:
        self.session.add(webhook)

    async def get(self, webhook_id: str) -> Webhook | None:
        return await self.session.get(Webhook, webhook_id)

    async def page(self, *, limit: int, cursor: str | None) -> Page:
        return await _page(
            self.session, select(Webhook), Webhook, limit=limit, cursor=cursor, newest_first=False
        )

    async def delete(self, webhook_id: str) -> bool:
        # Its deliveries go with it (ON DELETE CASCADE); an attempt in flight then records nothing.
        await self.session.execute(delete(Delivery).where(Delivery.webhook_id == webhook_id))
        result = await self.session.execute(delete(Webhook).where(Webhook.id == webhook_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def active(self) -> Sequence[Webhook]:
        return (await self.session.scalars(select(Webhook).where(Webhook.active.is_(True)))).all()


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, delivery: Delivery) -> None:
        self.session.add(delivery)

    async def page(self, webhook_id: str, *, limit: int, cursor: str | None) -> Page:
        query = select(Delivery).where(Delivery.webhook_id == webhook_id)
        return await _page(self.session, query, Delivery, limit=limit, cursor=cursor, newest_first=True)

    async def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Claimed]:
        """Take due pending deliveries for one attempt each: count the attempt and lease them.

        On PostgreSQL ``SKIP LOCKED`` lets replicas claim side by side; SQLite serialises the
        whole transaction. The lease (``next_attempt_at`` moved ahead) keeps the rows away from
        other workers after this short transaction commits, and hands them back if the sender
        dies mid-attempt.
        """
        due = (
            select(Delivery.id)
            .where(Delivery.status == domain.Status.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.scalars(due)).all())
        if not ids:
            return []
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(attempts=Delivery.attempts + 1, next_attempt_at=lease_until)
        )
        rows = await self.session.execute(
            select(Delivery, Webhook.url, Webhook.secret)
            .join(Webhook, Webhook.id == Delivery.webhook_id)
            .where(Delivery.id.in_(ids))
        )
        return [
            Claimed(d.id, d.webhook_id, url, secret, d.event_name, d.body, d.attempts)
            for d, url, secret in rows.all()
        ]

    async def finish_attempt(self, claimed: Claimed, **values: Any) -> bool:
        """Record an attempt's result unless the delivery was re-claimed or deleted meanwhile."""
        result = await self.session.execute(
            update(Delivery)
            .where(
                Delivery.id == claimed.id,
                Delivery.attempts == claimed.attempts,
                Delivery.status == domain.Status.PENDING,
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.status == domain.Status.PENDING)
        )


async def _page(
    session: AsyncSession,
    query: Select[Any],
    model: type[Row],
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool,
) -> Page:
    """Keyset pagination on (created_at, id)."""
    if cursor is not None:
        at, item_id = domain.decode_cursor(cursor)
        if newest_first:
            query = query.where(or_(model.created_at < at, and_(model.created_at == at, model.id < item_id)))
        else:
            query = query.where(or_(model.created_at > at, and_(model.created_at == at, model.id > item_id)))
    order = (model.created_at.desc(), model.id.desc()) if newest_first else (model.created_at, model.id)
    rows = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, domain.encode_cursor(items[-1].created_at, items[-1].id) if more else None)
