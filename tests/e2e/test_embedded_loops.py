"""Loops end to end in the embedded mode, with real mail bytes: an auto-replying bot and a
mailing list get no acknowledgement; a bounce of our acknowledgement becomes a note on the
case it belongs to, never a case of its own."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from allsak.embedded import embedded
from shared.testing import wait_for
from tests.support.mail import make_mail

ADMIN = "loops-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
MAIL = {**AUTH, "Content-Type": "message/rfc822"}


class Desk:
    def __init__(self, api: httpx.AsyncClient, data: Path, bus: Any) -> None:
        self.api = api
        self.data = data
        self.bus = bus

    async def settled(self) -> None:
        """Every event so far handled by every service (then the outboxes' new events too)."""
        for _ in range(3):
            await self.bus.drain(timeout=20)

    def sent(self) -> list[EmailMessage]:
        folder = self.data / "mail" / "sent"
        return (
            [
                email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
                for p in sorted(folder.glob("*.eml"))
            ]
            if folder.exists()
            else []
        )

    async def post(self, raw: bytes) -> str:
        response = await self.api.post("/api/v1/intake/mail", content=raw, headers=MAIL)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def fate(self, message_id: str) -> dict | None:
        body = (await self.api.get(f"/api/v1/intake/messages/{message_id}", headers=AUTH)).json()
        return body if body["status"] != "in_progress" else None

    async def cases(self) -> list[dict]:
        return (await self.api.get("/api/v1/cases", headers=AUTH)).json()["items"]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    overrides = {
        "gateway": {"admin_token": ADMIN},
        **{name: {"outbox_poll_seconds": 0.05} for name in ("intake", "cases", "notify")},
    }
    async with embedded(tmp_path, **overrides) as apps:
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak") as api:
            yield Desk(api, tmp_path, apps["gateway"].state.ctx.transport)


async def test_a_bot_and_a_mailing_list_are_registered_but_never_acknowledged(desk: Desk) -> None:
    bot, _ = make_mail(1, sender="fravaer@leverandor.no", extra_headers={"Auto-Submitted": "auto-replied"})
    listed, _ = make_mail(
        2, sender="nyhetsbrev@liste.no", extra_headers={"List-Id": "<nyheter.liste.no>", "Precedence": "list"}
    )
    person, _ = make_mail(3)
    fates = [
        await wait_for(lambda m=m: desk.fate(m)) for m in [await desk.post(r) for r in (bot, listed, person)]
    ]
    assert [f["status"] for f in fates] == ["case", "case", "case"]
    assert fates[0]["auto_reason"] and fates[1]["auto_reason"] and not fates[2]["auto_reason"]
    await wait_for(desk.sent)
    await desk.settled()
    assert len(await desk.cases()) == 3
    assert [m["To"].addresses[0].addr_spec for m in desk.sent()] == ["kunde3@example.no"]
    registered = (await desk.api.get("/api/v1/outgoing-mail", headers=AUTH)).json()["items"]
    assert [m["to"] for m in registered] == [["kunde3@example.no"]], "nothing else even waits to be sent"


def dsn_for(ack: EmailMessage) -> bytes:
    """An RFC 3464 report, as Postfix writes one, of our acknowledgement to a dead address."""
    to = ack["To"].addresses[0].addr_spec
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.kunde.no>
To: {ack["From"]}
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-ID: <dsn-1@mx.kunde.no>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.kunde.no. I'm sorry to have to inform you
that your message could not be delivered to one or more recipients.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.kunde.no

Final-Recipient: rfc822; {to}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{to}>: Recipient address rejected: User unknown

--B1
Content-Type: text/rfc822-headers

From: {ack["From"]}
To: {ack["To"]}
Subject: {ack["Subject"]}
Message-ID: {ack["Message-ID"]}

--B1--
""".replace("\n", "\r\n").encode()


async def test_a_bounce_of_our_acknowledgement_is_a_note_on_its_case(desk: Desk) -> None:
    raw, _ = make_mail(4, sender="feil.adresse@kunde.no")
    await desk.post(raw)
    [ack] = await wait_for(desk.sent)
    [case] = await desk.cases()
    bounce = await desk.post(dsn_for(ack))
    fate = await wait_for(lambda: desk.fate(bounce))
    assert fate["status"] == "case" and fate["case"]["number"] == case["number"]
    detail = (await desk.api.get(f"/api/v1/cases/{case['number']}", headers=AUTH)).json()
    note = detail["articles"][-1]
    assert note["kind"] == "delivery_failure" and note["internal"] is True
    assert "5.1.1" in note["body_text"]
    await desk.settled()
    assert len(await desk.cases()) == 1, "a bounce never makes a case"
    assert len(desk.sent()) == 1, "a bounce is never acknowledged"
