"""Idempotent consumers: the inbox row and the handler's effect commit in one transaction.

Delivery is at-least-once, so every handler may see an event again; the ``inbox`` table
records (queue, message id) and a redelivery of a handled event is acknowledged as a no-op.
The acknowledgement itself happens in the transport, after this wrapper returned, that is
after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared import logging as log_context
from shared import metrics
from shared.bus.transport import EVENTS_EXCHANGE, Message, Subscription
from shared.db import Database, UnitOfWork, UtcDateTime
from shared.events.base import Envelope, Event, decode

logger = logging.getLogger(__name__)

EventHandler = Callable[[UnitOfWork, Any, Envelope], Awaitable[None]]
EnvelopeHandler = Callable[[UnitOfWork, Envelope], Awaitable[None]]


def define_inbox(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("queue", String(200), nullable=False),
        Column("message_id", String(36), nullable=False),
        Column("handled_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("queue", "message_id"),
    )


async def claim(uow: UnitOfWork, queue: str, message_id: str) -> bool:
    """Record the message as handled by ``queue``; False when it already was."""
    table = uow.db.metadata.tables["inbox"]
    insert = pg_insert if uow.db.is_postgresql else sqlite_insert
    statement = (
        insert(table)
        .values(queue=queue, message_id=message_id, handled_at=uow.now())
        .on_conflict_do_nothing(index_elements=["queue", "message_id"])
    )
    result = await uow.session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def consumer(
    db: Database,
    *,
    service: str,
    name: str,
    events: Sequence[type[Event]],
    handler: EventHandler,
    exchange: str = EVENTS_EXCHANGE,
) -> Subscription:
    """A durable queue ``<service>.<name>`` whose handler runs once per event, in a unit of work."""

    async def typed(uow: UnitOfWork, envelope: Envelope) -> None:
        await handler(uow, envelope.event(), envelope)

    return envelope_consumer(
        db,
        service=service,
        name=name,
        patterns=tuple(event.routing_key() for event in events),
        handler=typed,
        exchange=exchange,
    )


def envelope_consumer(
    db: Database,
    *,
    service: str,
    name: str,
    patterns: Sequence[str],
    handler: EnvelopeHandler,
    exchange: str = EVENTS_EXCHANGE,
) -> Subscription:
    """Like ``consumer`` for topic patterns (``cases.*``); the handler gets the envelope only."""
    queue = f"{service}.{name}"

    async def deliver(message: Message) -> None:
        envelope = decode(message.body)
        corr = log_context.correlation_id.set(envelope.correlation_id)
        cause = log_context.causation_id.set(str(envelope.message_id))
        started = time.perf_counter()
        try:
            async with db.uow() as uow:
                if not await claim(uow, queue, str(envelope.message_id)):
                    metrics.CONSUMED.labels(service, queue, "duplicate").inc()
                    return
                await handler(uow, envelope)
                await uow.commit()
        except Exception:
            metrics.CONSUMED.labels(service, queue, "error").inc()
            logger.exception(
                "handler %s failed on %s (delivery %d)",
                queue,
                envelope.routing_key,
                message.delivery_count,
                extra={"event_id": str(envelope.message_id)},
            )
            raise
        else:
            metrics.CONSUMED.labels(service, queue, "ok").inc()
        finally:
            metrics.HANDLER_DURATION.labels(service, queue).observe(time.perf_counter() - started)
            log_context.correlation_id.reset(corr)
            log_context.causation_id.reset(cause)

    return Subscription(queue=queue, patterns=tuple(patterns), handler=deliver, exchange=exchange)
