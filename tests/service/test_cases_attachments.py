"""Attachments and HTML bodies of mail: served by content hash, only to those who see the case."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cases.app import create_app
from services.cases.settings import Settings
from shared.events.intake import Attachment, MessageReceived, Routing
from shared.runtime import Runtime
from shared.testing import publish, running, wait_for

PDF = b"%PDF-1.4 l\xc3\xb8nnsslipp " * 50
HTML = "<p>Se vedlagt <b>lønnsslipp</b></p>".encode()


def as_user(user_id: str) -> dict[str, str]:
    return {"X-Allsak-User": user_id, "X-Allsak-Role": "agent"}


class Desk:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime
        self.users: dict[str, str] = {}

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def team(self, key: str) -> None:
        group = await self.post("/api/v1/groups", {"key": key, "name": key.upper()})
        await self.post("/api/v1/queues", {"key": key.upper(), "group_id": group["id"]})
        user = await self.post("/api/v1/users", {"email": f"{key}@example.no", "name": key})
        await self.post(f"/api/v1/groups/{group['id']}/members", {"user_id": user["id"]})
        self.users[key] = user["id"]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    async with runtime, running(create_app(Settings(data_dir=tmp_path), runtime)) as client:
        desk = Desk(client, runtime)
        await desk.team("hr")
        await desk.team("it")
        yield desk


async def test_attachment_and_html_are_served_to_those_who_see_the_case_only(desk: Desk) -> None:
    pdf_hash = await desk.runtime.blobs.put(PDF)
    html_hash = await desk.runtime.blobs.put(HTML)
    await publish(
        desk.runtime.transport,
        MessageReceived(
            id=str(uuid.uuid4()),
            channel="smtp",
            raw_sha256="0" * 64,
            sender_email="ingrid@kunde.no",
            subject="Lønnsslipp",
            text_body="Se vedlagt",
            received_at=datetime.now(UTC),
            html_sha256=html_hash,
            routing=Routing(queue="HR"),
            attachments=[
                Attachment(
                    sha256=pdf_hash,
                    filename="Lønnsslipp mars.pdf",
                    content_type="application/pdf",
                    size=len(PDF),
                )
            ],
        ),
    )

    async def case_in_hr() -> bool:
        items = (await desk.client.get("/api/v1/cases")).json()["items"]
        return bool(items) and items[0]["queue"] == "HR"

    await wait_for(case_in_hr)
    pdf = await desk.client.get(f"/api/v1/attachments/{pdf_hash}", headers=as_user(desk.users["hr"]))
    assert pdf.status_code == 200 and pdf.content == PDF
    assert hashlib.sha256(pdf.content).hexdigest() == pdf_hash
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''L%C3%B8nnsslipp%20mars.pdf" in pdf.headers["content-disposition"]
    assert pdf.headers["x-content-type-options"] == "nosniff"
    html = await desk.client.get(f"/api/v1/attachments/{html_hash}", headers=as_user(desk.users["hr"]))
    assert html.status_code == 200 and html.content == HTML
    assert (
        html.headers["content-type"].startswith("text/html")
        and "sandbox" in html.headers["content-security-policy"]
    )

    missing = await desk.client.get(f"/api/v1/attachments/{'a' * 64}", headers=as_user(desk.users["it"]))
    for digest in (pdf_hash, html_hash):
        hidden = await desk.client.get(f"/api/v1/attachments/{digest}", headers=as_user(desk.users["it"]))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
    assert (await desk.client.get("/api/v1/attachments/not-a-hash")).status_code == 422
