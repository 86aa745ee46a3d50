"""Database access for one service: engine, sessions and the unit of work.

PostgreSQL (asyncpg) and SQLite (aiosqlite) are chosen by the URL alone. Every service has
its own database and its own metadata; ``service_metadata()`` gives one that already holds
the outbox and inbox tables.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import DateTime, MetaData, event, insert, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from shared import logging as log_context
from shared.clock import Clock, IdFactory, new_id, utcnow
from shared.events.base import Event, encode, envelope_for

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def service_metadata() -> MetaData:
    """Metadata for a service's tables, with the outbox and inbox already defined."""
    from shared.inbox import define_inbox
    from shared.outbox import define_outbox

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_outbox(metadata)
    define_inbox(metadata)
    return metadata


class Database:
    def __init__(
        self,
        url: str,
        metadata: MetaData,
        *,
        clock: Clock = utcnow,
        ids: IdFactory = new_id,
        pool_size: int = 10,
    ) -> None:
        self.url = make_url(url)
        self.metadata = metadata
        self.clock = clock
        self.ids = ids
        self._commit_listeners: list[Callable[[], None]] = []
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine = create_async_engine(self.url, **kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        """Sessions for reading; a unit of work writes."""
        self._write_sessions = self.sessions
        self._write_lock: asyncio.Lock | None = None
        if self.is_sqlite:
            _sqlite_pragmas(self.engine.sync_engine)
            # SQLite has one writer at a time and makes the others wait by sleeping and polling;
            # queueing this process's writers on a lock instead keeps the file busy all the time.
            self._write_lock = asyncio.Lock()
            self._write_sessions = async_sessionmaker(
                self.engine.execution_options(allsak_write=True), expire_on_commit=False
            )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def uow(self, *, at: datetime | None = None) -> UnitOfWork:
        """A unit of work; ``at`` fixes its ``now()`` (importing history: the events carry that moment)."""
        return UnitOfWork(self, at=at)

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each unit of work commits (the outbox relay wakes on it)."""
        self._commit_listeners.append(listener)

    def committed(self) -> None:
        for listener in self._commit_listeners:
            listener()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(sync_engine: Any) -> None:
    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so that "begin" below is the only BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY at once
        # when another writer got there first; a unit of work takes the write lock up front.
        write = conn.get_execution_options().get("allsak_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class UnitOfWork:
    """One transaction: the state change and the events it causes commit together (outbox)."""

    def __init__(self, db: Database, *, at: datetime | None = None) -> None:
        if at is not None and at.tzinfo is None:
            raise ValueError("a unit of work's moment must be an aware datetime")
        self.db = db
        # A fixed moment for ``now()``, moved along by whoever replays history; None: the clock.
        self.at = at
        self.session: AsyncSession = db._write_sessions()
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        if self.db._write_lock is not None:
            await self.db._write_lock.acquire()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
        finally:
            try:
                await self.session.close()
            finally:
                if self.db._write_lock is not None:
                    self.db._write_lock.release()

    def now(self) -> datetime:
        return self.at if self.at is not None else self.db.clock()

    async def emit(self, event: Event) -> None:
        """Stage an event in the outbox; it is published only if this unit of work commits."""
        from shared.outbox import outbox_table

        envelope = envelope_for(
            event,
            message_id=self.db.ids(),
            occurred_at=self.now(),
            correlation_id=log_context.correlation_id.get() or str(self.db.ids()),
            causation_id=log_context.causation_id.get(),
        )
        await self.session.execute(
            insert(outbox_table(self.db.metadata)).values(
                message_id=str(envelope.message_id),
                routing_key=envelope.routing_key,
                body=encode(envelope),
                # When the row was written, not when the event happened: the outbox's age
                # metric must not see an imported case from March as a stuck message.
                created_at=self.db.clock(),
                attempts=0,
            )
        )

    async def commit(self, *, notify: bool = True) -> None:
        """Commit; ``notify=False`` keeps the outbox relay asleep (for its own bookkeeping)."""
        await self.session.commit()
        self._committed = True
        if notify:
            self.db.committed()

    async def rollback(self) -> None:
        await self.session.rollback()
