"""Integration use cases: manage webhooks, plan a delivery per matching webhook, record attempts."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from services.integration import domain
from services.integration.models import Delivery, Webhook
from services.integration.repository import Claimed, DeliveryRepository, Page, WebhookRepository
from shared.db import Database, UnitOfWork
from shared.events.base import Envelope
from shared.events.integration import DeliveryFailed


class NotFound(LookupError):
    """No webhook with that id."""


async def create_webhook(
    uow: UnitOfWork, *, url: str, events: list[str], secret: str | None, description: str, active: bool
) -> Webhook:
    """Register an endpoint; without a secret one is generated (the caller shows it once)."""
    webhook = Webhook(
        id=f"wh_{uow.db.ids().hex}",
        url=url,
        events=events,
        secret=secret or domain.new_secret(secrets.token_bytes(32)),
        description=description,
        active=active,
        created_at=uow.now(),
    )
    WebhookRepository(uow.session).add(webhook)
    await uow.commit()
    return webhook


# Reads use a plain session: closing it keeps the loaded rows readable, where the rollback at
# the end of an uncommitted unit of work would expire them.


async def get_webhook(db: Database, *, webhook_id: str) -> Webhook:
    async with db.sessions() as session:
        webhook = await WebhookRepository(session).get(webhook_id)
    if webhook is None:
        raise NotFound(webhook_id)
    return webhook


async def list_webhooks(db: Database, *, limit: int, cursor: str | None) -> Page:
    async with db.sessions() as session:
        return await WebhookRepository(session).page(limit=limit, cursor=cursor)


async def delete_webhook(uow: UnitOfWork, *, webhook_id: str) -> None:
    """Remove the webhook and its deliveries; nothing more is sent to it."""
    if not await WebhookRepository(uow.session).delete(webhook_id):
        raise NotFound(webhook_id)
    await uow.commit()


async def list_deliveries(db: Database, *, webhook_id: str, limit: int, cursor: str | None) -> Page:
    async with db.sessions() as session:
        if await WebhookRepository(session).get(webhook_id) is None:
            raise NotFound(webhook_id)
        return await DeliveryRepository(session).page(webhook_id, limit=limit, cursor=cursor)


async def plan_deliveries(uow: UnitOfWork, *, envelope: Envelope) -> int:
    """One pending delivery per active webhook that wants the event, due now; in the inbox's unit of work."""
    deliveries = DeliveryRepository(uow.session)
    body = domain.message_body(envelope)
    now = uow.now()
    planned = 0
    for webhook in await WebhookRepository(uow.session).active():
        if not domain.wants(webhook.id, webhook.events, envelope):
            continue
        deliveries.add(
            Delivery(
                id=domain.delivery_id(envelope.message_id, webhook.id),
                webhook_id=webhook.id,
                event_id=str(envelope.message_id),
                event_name=envelope.routing_key,
                body=body,
                status=domain.Status.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        planned += 1
    return planned


async def claim_due(db: Database, *, lease_seconds: float, limit: int) -> list[Claimed]:
    """Take due deliveries for an attempt each; the lease returns them if the attempt never reports."""
    async with db.uow() as uow:
        now = uow.now()
        claimed = await DeliveryRepository(uow.session).claim_due(
            now=now, lease_until=now + timedelta(seconds=lease_seconds), limit=limit
        )
        await uow.commit(notify=False)
    return claimed


async def record_attempt(
    db: Database, *, claimed: Claimed, result: domain.AttemptResult, policy: domain.RetryPolicy, rand: float
) -> domain.Outcome | None:
    """Delivered on 2xx; else retry with backoff, or fail for good and emit integration.delivery_failed."""
    async with db.uow() as uow:
        now = uow.now()
        outcome = domain.outcome(result, attempts=claimed.attempts, policy=policy)
        values: dict[str, object] = {"last_status_code": result.status_code, "last_error": None}
        if outcome is domain.Outcome.DELIVERED:
            values.update(status=domain.Status.DELIVERED, next_attempt_at=None, finished_at=now)
        elif outcome is domain.Outcome.RETRY:
            values.update(
                last_error=result.reason, next_attempt_at=now + policy.delay(claimed.attempts, rand=rand)
            )
        else:
            values.update(
                status=domain.Status.FAILED, last_error=result.reason, next_attempt_at=None, finished_at=now
            )
        if not await DeliveryRepository(uow.session).finish_attempt(claimed, **values):
            return None  # re-claimed after its lease ran out, or the webhook was deleted
        report = outcome is domain.Outcome.FAILED and domain.reports_failure(claimed.event_name)
        if report:
            await uow.emit(_failed(claimed, reason=result.reason, at=now))
        await uow.commit(notify=report)  # wake the outbox relay only when there is an event
    return outcome


async def next_due(db: Database) -> datetime | None:
    async with db.sessions() as session:
        return await DeliveryRepository(session).next_due()


def _failed(claimed: Claimed, *, reason: str, at: datetime) -> DeliveryFailed:
    return DeliveryFailed(
        webhook_id=claimed.webhook_id,
        delivery_id=claimed.id,
        event_name=claimed.event_name,
        url=claimed.url,
        attempts=claimed.attempts,
        reason=reason[:1000],
        failed_at=at,
    )
