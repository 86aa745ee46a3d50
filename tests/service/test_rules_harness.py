"""The desk the routing and assignment tests run on, on SQLite and PostgreSQL (no tests here).

Groups ``okonomi`` (queue Økonomi) and ``it`` (queue IT); in ``it`` three available agents,
one who is not available and one who is inactive; an admin and an agent of ``okonomi``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.bus import Message, Subscription
from shared.db import Database
from shared.events import Envelope, decode
from shared.events.intake import MessageReceived
from shared.runtime import Runtime
from shared.testing import publish, running, wait_for

ADMIN = {"X-Allsak-User": "admin", "X-Allsak-Role": "admin"}
IT_AGENTS = ("anne@firma.no", "bjorn@firma.no", "carl@firma.no")


def as_user(user_id: str, role: str = "agent") -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": role}


@dataclass
class Desk:
    client: httpx.AsyncClient
    app: FastAPI
    runtime: Runtime
    events: list[Envelope]
    groups: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        db: Database = self.app.state.ctx.db
        return db

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == f"cases.{name}.v1"]

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = await self.client.post(path, json=body, headers=ADMIN)
        assert response.status_code == status, response.text
        return response.json()

    async def get(self, path: str) -> Any:
        response = await self.client.get(path, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()

    async def rule(self, **body: Any) -> dict[str, Any]:
        rule: dict[str, Any] = await self.post("/api/v1/routing-rules", {"name": "rule", **body})
        return rule

    async def case(self, subject: str, **body: Any) -> dict[str, Any]:
        payload = {"subject": subject, "requester": {"email": "kari@kunde.no"}, **body}
        case: dict[str, Any] = await self.post("/api/v1/cases", payload)
        return case

    async def mail(self, **fields: Any) -> dict[str, Any]:
        """A mail through the bus, as intake sends it; the case it became."""
        before = len(self.named("case_created"))
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
        await publish(self.runtime.transport, MessageReceived(**{**defaults, **fields}))
        await wait_for(lambda: len(self.named("case_created")) > before)
        number = self.named("case_created")[before]["number"]
        found: dict[str, Any] = await self.get(f"/api/v1/cases/{number}")
        return found

    async def assignment(self, group: str, method: str) -> dict[str, Any]:
        response = await self.client.put(
            f"/api/v1/groups/{self.groups[group]}/assignment", json={"method": method}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("cases")


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.cases", patterns=("cases.#",), handler=record)
        )
        settings = Settings(data_dir=tmp_path, database_url=database_url, outbox_poll_seconds=0.05)
        app = create_app(settings, runtime)
        async with running(app) as client:
            desk = Desk(client, app, runtime, events)
            await _furnish(desk)
            yield desk


async def _furnish(desk: Desk) -> None:
    for key, queue in (("okonomi", "Økonomi"), ("it", "IT")):
        group = await desk.post("/api/v1/groups", {"key": key, "name": key.upper()})
        await desk.post("/api/v1/queues", {"key": queue, "group_id": group["id"]})
        desk.groups[key] = group["id"]
    people = [
        ("admin@firma.no", "admin", None, {}),
        ("okonomi@firma.no", "agent", "okonomi", {"available": True}),
        *((email, "agent", "it", {"available": True}) for email in IT_AGENTS),
        ("away@firma.no", "agent", "it", {"available": False}),
        ("gone@firma.no", "agent", "it", {"available": True, "active": False}),
    ]
    for email, role, group, extra in people:
        user = await desk.post(
            "/api/v1/users", {"email": email, "name": email.split("@")[0], "role": role, **extra}
        )
        desk.users[email] = user["id"]
        if group:
            await desk.post(f"/api/v1/groups/{desk.groups[group]}/members", {"user_id": user["id"]})
