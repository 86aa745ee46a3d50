"""Shared by the SLA service tests: a cases app on an injected clock, and helpers to drive it.

The clock is injected into the app's database before the app starts, so that nothing (the
timer least of all) ever reads the real time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData, func, select

from services.cases.app import create_app
from services.cases.settings import Settings
from services.cases.sla.models import CaseSla
from services.cases.sla.timer import SlaTimer
from shared.bus import Message, Subscription
from shared.db import Database
from shared.events import Envelope, decode
from shared.outbox import outbox_table
from shared.runtime import Runtime
from shared.testing import running, wait_for

OSLO = ZoneInfo("Europe/Oslo")
SLA_KEYS = ("cases.sla_warning.v1", "cases.sla_breached.v1")


def oslo(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def iso(value: datetime) -> str:
    """As the API writes an instant: UTC."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def same_instant(text: str | None, expected: datetime | None) -> bool:
    if text is None or expected is None:
        return text is None and expected is None
    return datetime.fromisoformat(text.replace("Z", "+00:00")) == expected


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)


class ClockedRuntime(Runtime):
    """The embedded runtime whose databases tell the time by ``clock``."""

    clock: Clock

    def database(self, url: str, metadata: MetaData) -> Database:
        return Database(url, metadata, clock=self.clock)


@dataclass
class Desk:
    client: httpx.AsyncClient
    app: FastAPI
    clock: Clock
    events: list[Envelope] = field(default_factory=list)

    @property
    def db(self) -> Database:
        db: Database = self.app.state.ctx.db
        return db

    @property
    def timer(self) -> SlaTimer:
        timer: SlaTimer = self.app.state.ctx.state["sla_timer"]
        return timer

    async def call(self, method: str, path: str, body: Any = None, *, expect: int = 200, **kw: Any) -> Any:
        response = await self.client.request(method, path, json=body, **kw)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    async def policy(self, **fields: Any) -> dict[str, Any]:
        body = {"labels": {"en": "Policy", "nb": "Avtale"}, **fields}
        result: dict[str, Any] = await self.call("POST", "/api/v1/sla-policies", body, expect=201)
        return result

    async def case(self, *, at: datetime | None = None, **fields: Any) -> str:
        if at is not None:
            self.clock.set(at)
        body = {"subject": "Skriveren virker ikke", "requester": {"email": "kari@kunde.no"}, **fields}
        return str((await self.call("POST", "/api/v1/cases", body, expect=201))["number"])

    async def change(self, number: str, *, at: datetime, **changes: Any) -> dict[str, Any]:
        self.clock.set(at)
        result: dict[str, Any] = await self.call("PATCH", f"/api/v1/cases/{number}", changes)
        return result

    async def due(self, number: str) -> dict[str, Any]:
        sla: dict[str, Any] = (await self.call("GET", f"/api/v1/cases/{number}"))["sla"]
        return sla

    async def sla(self, number: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/api/v1/cases/{number}/sla")
        return result

    async def tick(self, at: datetime) -> None:
        """Move the clock and run timer rounds until nothing is due. The app's own timer loop may
        hold some rows in a round of its own, so this waits for the rows, not for its own rounds."""
        self.clock.set(at)

        async def settled() -> bool:
            await self.timer.step()
            return await due_count(self.db, at) == 0

        await wait_for(settled)  # type: ignore[arg-type]

    async def outbox(self) -> list[Envelope]:
        """The SLA events written to the outbox, in order: what the service emitted, exactly."""
        return await sla_outbox(self.db)


async def due_count(db: Database, at: datetime) -> int:
    async with db.sessions() as session:
        count = await session.scalar(select(func.count()).where(CaseSla.next_check_at <= at))
    return int(count or 0)


async def sla_outbox(db: Database) -> list[Envelope]:
    table = outbox_table(db.metadata)
    query = select(table.c.body).where(table.c.routing_key.in_(SLA_KEYS)).order_by(table.c.seq)
    async with db.sessions() as session:
        return [decode(body) for body in await session.scalars(query)]


def summary(envelopes: list[Envelope]) -> list[tuple[str, str, str]]:
    return [(e.payload["number"], e.payload["clock"], e.name.removeprefix("cases.")) for e in envelopes]


@contextlib.asynccontextmanager
async def open_desk(
    tmp_path: Path, database_url: str | None, clock: Clock, **settings: Any
) -> AsyncIterator[Desk]:
    runtime = ClockedRuntime.embedded(data_dir=tmp_path)
    assert isinstance(runtime, ClockedRuntime)
    runtime.clock = clock
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with runtime:
        await runtime.transport.consume(Subscription(queue="test.sla", patterns=SLA_KEYS, handler=record))
        app = create_app(
            Settings(data_dir=tmp_path, database_url=database_url, outbox_poll_seconds=0.05, **settings),
            runtime,
        )
        async with running(app) as client:
            yield Desk(client, app, clock, events)
