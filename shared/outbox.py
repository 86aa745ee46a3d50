"""Transactional outbox and its relay.

A service writes events into its own ``outbox`` table in the transaction of the change that
caused them (``UnitOfWork.emit``). The relay publishes unsent rows in order with publisher
confirms and marks them sent; while the broker is away the rows wait, so an outage delays
events and never loses them. Several replicas may relay at once: on PostgreSQL rows are
claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)

from shared import metrics
from shared.bus.transport import PublishError, Transport
from shared.db import Database, UtcDateTime
from shared.waker import CommitWaker

logger = logging.getLogger(__name__)

SENT_RETENTION = timedelta(days=7)


def define_outbox(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("message_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(200), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unsent", "sent_at", "seq"),
    )


def outbox_table(metadata: MetaData) -> Table:
    return metadata.tables["outbox"]


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        *,
        service: str,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
        max_backoff: float = 30.0,
    ) -> None:
        self.db = db
        self.transport = transport
        self.service = service
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self.table = outbox_table(db.metadata)
        self._waker = CommitWaker(db)

    def wake(self) -> None:
        self._waker.wake()

    async def run(self) -> None:
        """Publish until cancelled; wake on local commits, poll for other replicas' rows."""
        backoff = self.poll_seconds
        cycles = 0  # the backlog gauge is refreshed every few idle cycles, not on every wake
        while True:
            self._waker.clear()
            try:
                published = await self.publish_batch()
                backoff = self.poll_seconds
            except PublishError as exc:
                logger.warning("outbox: broker unavailable, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            except Exception:
                logger.exception("outbox relay failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if published == self.batch_size:
                continue
            cycles += 1
            if cycles % 10 == 1:
                await self._measure_and_prune()
            await self._waker.wait(self.poll_seconds)

    async def publish_batch(self) -> int:
        """Publish one batch of unsent rows in order; return how many were published.

        Rows confirmed before a failure are marked sent in the same transaction, so a
        failure halfway republishes nothing that the broker already confirmed.
        """
        sent: list[int] = []
        failure: PublishError | None = None
        async with self.db.uow() as uow:
            query = (
                select(self.table.c.seq, self.table.c.message_id, self.table.c.routing_key, self.table.c.body)
                .where(self.table.c.sent_at.is_(None))
                .order_by(self.table.c.seq)
                .limit(self.batch_size)
            )
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            rows = (await uow.session.execute(query)).all()
            for row in rows:
                try:
                    await self.transport.publish(
                        routing_key=row.routing_key, body=row.body, message_id=row.message_id
                    )
                except PublishError as exc:
                    failure = exc
                    await uow.session.execute(
                        update(self.table)
                        .where(self.table.c.seq == row.seq)
                        .values(attempts=self.table.c.attempts + 1, last_error=str(exc)[:1000])
                    )
                    break
                sent.append(row.seq)
            if sent:
                await uow.session.execute(
                    update(self.table).where(self.table.c.seq.in_(sent)).values(sent_at=uow.now())
                )
            await uow.commit(notify=False)
        published = len(sent)
        if published:
            metrics.PUBLISHED.labels(self.service).inc(published)
        if failure is not None:
            raise failure
        return published

    async def pending(self) -> int:
        async with self.db.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
            )
        return int(count or 0)

    async def _measure_and_prune(self) -> None:
        now = self.db.clock()
        async with self.db.uow() as uow:
            pending, oldest = (
                await uow.session.execute(
                    select(func.count(), func.min(self.table.c.created_at)).where(
                        self.table.c.sent_at.is_(None)
                    )
                )
            ).one()
            await uow.session.execute(delete(self.table).where(self.table.c.sent_at < now - SENT_RETENTION))
            await uow.commit(notify=False)
        metrics.OUTBOX_PENDING.labels(self.service).set(pending or 0)
        oldest_at = UtcDateTime().process_result_value(oldest, self.db.engine.dialect) if oldest else None
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(
            (now - oldest_at).total_seconds() if oldest_at else 0
        )
