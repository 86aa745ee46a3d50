"""End to end in the embedded mode: one process, every service, the in-process bus, SQLite."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from allsak.embedded import embedded
from shared.bus import Message, Subscription
from shared.events import Envelope, decode
from shared.testing import wait_for
from tests.support.mail import make_mail
from tests.support.receiver import Receiver, receiver

ADMIN = "e2e-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@dataclass
class Desk:
    api: httpx.AsyncClient
    data: Path
    hook: Receiver
    events: list[Envelope]

    def sent_mails(self) -> list[email.message.EmailMessage]:
        folder = self.data / "mail" / "sent"
        if not folder.exists():
            return []
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))
        ]

    async def cases(self) -> list[dict]:
        response = await self.api.get("/api/v1/cases", headers=AUTH)
        response.raise_for_status()
        return response.json()["items"]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    overrides = {
        "gateway": {"admin_token": ADMIN},
        "integration": {"webhook_retry_base_seconds": 0.05},
        **{name: {"outbox_poll_seconds": 0.05} for name in ("intake", "cases", "notify", "reporting")},
    }
    events: list[Envelope] = []

    async def record(message: Message) -> None:
        events.append(decode(message.body))

    async with receiver() as hook, embedded(tmp_path, **overrides) as apps:
        bus = apps["gateway"].state.ctx.transport
        await bus.consume(Subscription(queue="test.recorder", patterns=("#",), handler=record))
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak") as api:
            yield Desk(api, tmp_path, hook, events)


async def test_mail_becomes_case_acknowledgement_reply_kpi_and_signed_webhook(desk: Desk) -> None:
    created = await desk.api.post(
        "/api/v1/webhooks", json={"url": desk.hook.url, "events": ["cases.*"]}, headers=AUTH
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]

    raw, message_id = make_mail(1, kind="nordic")
    posted = await desk.api.post(
        "/api/v1/intake/mail", content=raw, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert posted.status_code == 202, posted.text

    [case] = await wait_for(desk.cases)
    number = case["number"]
    assert case["requester"]["email"] == "kunde1@example.no"

    [ack] = await wait_for(desk.sent_mails)
    assert f"[Sak#{number}]" in ack["Subject"]
    assert ack["In-Reply-To"] == message_id
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["To"].addresses[0].addr_spec == "kunde1@example.no"

    reply, _ = make_mail(
        1,
        subject=f"SV: {ack['Subject']}",
        in_reply_to=ack["Message-ID"],
        references=[message_id, ack["Message-ID"]],
    )
    posted = await desk.api.post(
        "/api/v1/intake/mail", content=reply, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert posted.status_code == 202

    async def two_articles() -> dict | None:
        detail = (await desk.api.get(f"/api/v1/cases/{number}", headers=AUTH)).json()
        return detail if len(detail["articles"]) == 2 else None

    detail = await wait_for(two_articles)
    assert detail["articles"][1]["threaded_by"].startswith(("subject tag", "In-Reply-To"))
    assert len(await desk.cases()) == 1
    assert len(desk.sent_mails()) == 1, "a reply is not acknowledged again"

    async def kpis() -> dict | None:
        body = (await desk.api.get("/api/v1/reports/kpis", headers=AUTH)).json()
        return body if body["totals"]["created"] == 1 else None

    report = await wait_for(kpis)
    assert report["totals"]["open"] == 1
    assert report["by_queue"][0]["created"] == 1

    delivery = await wait_for(
        lambda: next((r for r in desk.hook.requests if b"cases.case_created.v1" in r.body), None)
    )
    payload = Webhook(secret).verify(delivery.body, delivery.headers)
    assert payload["data"]["number"] == number


async def test_correlation_id_travels_from_the_request_through_every_event(desk: Desk) -> None:
    raw, _ = make_mail(7)
    posted = await desk.api.post(
        "/api/v1/intake/mail",
        content=raw,
        headers={**AUTH, "Content-Type": "message/rfc822", "X-Correlation-ID": "corr-e2e-7"},
    )
    assert posted.headers["X-Correlation-ID"] == "corr-e2e-7"
    expected = {
        "intake.message_received.v1",
        "cases.case_created.v1",
        "cases.article_added.v1",
        "notify.mail_sent.v1",
    }
    await wait_for(lambda: expected <= {e.routing_key for e in desk.events})
    chain = [e for e in desk.events if e.routing_key in expected]
    assert {e.correlation_id for e in chain} == {"corr-e2e-7"}
    received = next(e for e in chain if e.routing_key == "intake.message_received.v1")
    created = next(e for e in chain if e.routing_key == "cases.case_created.v1")
    assert created.causation_id == str(received.message_id)


async def test_garbage_is_quarantined_not_lost(desk: Desk) -> None:
    garbage = b"\x00\x01\x02 this is not a mail \xff\xfe"
    posted = await desk.api.post(
        "/api/v1/intake/mail", content=garbage, headers={**AUTH, "Content-Type": "message/rfc822"}
    )
    assert posted.status_code == 202
    body = posted.json()
    assert body["status"] == "quarantined"
    raw = await desk.api.get(f"/api/v1/intake/quarantine/{body['quarantine_id']}/raw", headers=AUTH)
    assert raw.content == garbage
    assert await desk.cases() == []


async def test_unauthenticated_calls_are_refused(desk: Desk) -> None:
    assert (await desk.api.get("/api/v1/cases")).status_code == 401
    assert (await desk.api.get("/api/v1/cases", headers={"Authorization": "Bearer wrong"})).status_code == 401
    refused = await desk.api.post(
        "/api/v1/intake/mail", content=b"x", headers={"Content-Type": "message/rfc822"}
    )
    assert refused.status_code == 401


async def test_invalid_json_names_the_field(desk: Desk) -> None:
    response = await desk.api.post("/api/v1/cases", json={"subject": "Hei"}, headers=AUTH)
    assert response.status_code == 422
    assert "requester" in response.text


async def test_openapi_lists_every_service(desk: Desk) -> None:
    document = (await desk.api.get("/api/v1/openapi.json")).json()
    paths = set(document["paths"])
    for path in ("/api/v1/cases", "/api/v1/intake/mail", "/api/v1/reports/kpis", "/api/v1/webhooks"):
        assert path in paths
