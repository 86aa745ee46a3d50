"""The desk the routing and assignment tests run on, on SQLite and PostgreSQL (no tests here).

Groups ``okonomi`` (queue Økonomi) and ``it`` (queue IT); in ``it`` three available agents,
one who is not available and one who is inactive; an admin and an agent of ``okonomi``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.db import Database
from shared.events import Envelope
from shared.runtime import Runtime
from shared.testing import wait_for
from tests.support.cases import publish_mail, running_cases

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
        await publish_mail(self.runtime.transport, **fields)
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


@pytest.fixture
async def desk(tmp_path: Path, database_url: str | None) -> AsyncIterator[Desk]:
    async with running_cases(tmp_path, database_url) as c:
        desk = Desk(c.client, c.app, c.runtime, c.events)
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
