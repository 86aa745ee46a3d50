"""The cases service as the service tests run it: embedded runtime, app and client, the events it
published, and the mails intake would send it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.bus import Message, Subscription, Transport
from shared.db import Database
from shared.events import Envelope, decode
from shared.events.intake import MessageReceived
from shared.runtime import Runtime
from shared.testing import publish, running


@dataclass
class RunningCases:
    """A running cases app: its client, runtime and database, and the ``cases.#`` events it published."""

    client: httpx.AsyncClient
    runtime: Runtime
    app: FastAPI
    events: list[Envelope]

    @property
    def db(self) -> Database:
        db: Database = self.app.state.ctx.db
        return db


@asynccontextmanager
async def running_cases(
    tmp_path: Path, database_url: str | None, **settings_overrides: Any
) -> AsyncIterator[RunningCases]:
    """The cases app on an embedded runtime in ``tmp_path`` (SQLite when ``database_url`` is None),
    with every ``cases.#`` event recorded; ``settings_overrides`` go to its Settings."""
    runtime = Runtime.embedded(data_dir=tmp_path)
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.cases", patterns=("cases.#",), handler=record)
        )
        overrides = {"outbox_poll_seconds": 0.05, **settings_overrides}
        settings = Settings(data_dir=tmp_path, database_url=database_url, **overrides)
        app = create_app(settings, runtime)
        async with running(app) as client:
            yield RunningCases(client, runtime, app, events)


def mail_event(**fields: Any) -> MessageReceived:
    """A mail as intake sends it to cases: from Kari Nordmann by IMAP, with ``fields`` over the defaults."""
    defaults: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "channel": "imap",
        "raw_sha256": "0" * 64,
        "sender_email": "kari@kunde.no",
        "sender_name": "Kari Nordmann",
        "subject": "Skriveren virker ikke",
        "text_body": "Hei, skriveren skriver ikke ut.",
        "rfc_message_id": f"<{uuid.uuid4()}@kunde.no>",
        "received_at": datetime.now(UTC),
    }
    return MessageReceived(**{**defaults, **fields})


async def publish_mail(transport: Transport, **fields: Any) -> MessageReceived:
    """Publish ``mail_event(**fields)`` on the bus, as intake does; the event published."""
    event = mail_event(**fields)
    await publish(transport, event)
    return event
