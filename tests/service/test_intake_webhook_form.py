"""Inbound-mail provider webhooks: ``POST /api/v1/intake/mail`` as ``multipart/form-data``, on SQLite
and the in-process bus. The raw message must arrive byte for byte, whichever field carries it."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.intake.app import create_app
from services.intake.models import Message
from services.intake.settings import Settings
from shared.runtime import Runtime
from shared.testing import running

MAIL = "/api/v1/intake/mail"
FIELDS = ["email", "body-mime", "message", "raw", "mime"]


def raw_mail(n: int = 1) -> bytes:
    """UTF-8 in a header, Latin-1 in the body (not valid UTF-8), CRLF and one bare LF: all must survive."""
    return (
        f"From: Kari Nordmann <kari@kunde.no>\r\nTo: support@example.no\r\nMessage-ID: <w{n}@kunde.no>\r\n"
        f"Subject: Skriveren på {n}. etasje\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "Hilsen fra Tromsø\r\nÆ Ø Å\nslutt\r\n".encode("iso-8859-1")


class Harness:
    def __init__(self, client: httpx.AsyncClient, app: Any, runtime: Runtime) -> None:
        self.client = client
        self.app = app
        self.runtime = runtime

    async def form(self, fields: dict[str, Any], files: dict[str, Any] | None = None) -> httpx.Response:
        """multipart/form-data, as providers send it: fields without a filename, files with one."""
        parts = [(name, (None, value)) for name, value in fields.items()] + list((files or {}).items())
        return await self.client.post(MAIL, files=parts)

    async def stored(self) -> list[Message]:
        async with self.app.state.ctx.db.sessions() as session:
            return list(await session.scalars(select(Message)))

    async def mailbox(self, name: str, *addresses: str, channel: str = "webhook") -> str:
        body = {"name": name, "addresses": list(addresses), "channel": channel}
        response = await self.client.post("/api/v1/mailboxes", json=body)
        assert response.status_code == 201, response.text
        mailbox_id: str = response.json()["id"]
        return mailbox_id


@contextlib.asynccontextmanager
async def intake(tmp_path: Path, **settings: Any) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, **settings), runtime)
    async with runtime, running(app) as client:
        yield Harness(client, app, runtime)


@pytest.mark.parametrize("as_file", [False, True], ids=["text field", "file"])
@pytest.mark.parametrize("field", FIELDS)
async def test_each_provider_field_delivers_the_raw_message_byte_for_byte(
    tmp_path: Path, field: str, as_file: bool
) -> None:
    raw = raw_mail()
    async with intake(tmp_path) as h:
        if as_file:
            response = await h.form({}, files={field: ("message.eml", raw, "message/rfc822")})
        else:
            response = await h.form({field: raw, "spam_score": "0.1"})
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["duplicate"] is False

        stored = (await h.client.get(f"/api/v1/intake/messages/{answer['id']}")).json()
        assert stored["channel"] == "webhook"
        assert stored["raw_sha256"] == hashlib.sha256(raw).hexdigest()
        assert stored["size"] == len(raw)
        assert await h.runtime.blobs.get(stored["raw_sha256"]) == raw


async def test_the_first_accepted_field_in_their_order_wins_and_a_repost_is_a_duplicate(
    tmp_path: Path,
) -> None:
    async with intake(tmp_path) as h:
        first = await h.form({"raw": raw_mail(2), "text": "parsed body", "email": raw_mail(1)})
        assert first.status_code == 202, first.text
        [message] = await h.stored()
        assert message.raw_sha256 == hashlib.sha256(raw_mail(1)).hexdigest()

        again = await h.form({"email": raw_mail(1)})
        assert again.status_code == 202
        assert again.json() == {**first.json(), "duplicate": True}


async def test_envelope_recipients_route_the_message(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        hooks = await h.mailbox("Hooks", "support@example.no", "hjelp@example.no")
        sales = await h.mailbox("Sales", "salg@example.no")

        # SendGrid: the envelope is JSON; its "to" is a list, "to" beside it is the header.
        envelope = json.dumps({"to": ["hjelp@example.no"], "from": "kari@kunde.no"})
        sent = {"email": raw_mail(3), "envelope": envelope, "to": "Salg <salg@example.no>"}
        assert (await h.form(sent)).status_code == 202
        # Mailgun: one recipient.
        assert (await h.form({"body-mime": raw_mail(4), "recipient": "Salg@Example.no"})).status_code == 202
        # Only a "to" field, with names and two addresses.
        to = "Support <support@example.no>, annen@example.no"
        assert (await h.form({"message": raw_mail(5), "to": to})).status_code == 202
        # A broken envelope is ignored, not refused: the provider would only retry it.
        assert (await h.form({"raw": raw_mail(6), "envelope": "{not json"})).status_code == 202

        found = {m.rfc_message_id: (m.envelope, m.mailbox_id) for m in await h.stored()}
        assert found["<w3@kunde.no>"] == (["hjelp@example.no"], hooks)
        assert found["<w4@kunde.no>"] == (["salg@example.no"], sales)
        assert found["<w5@kunde.no>"] == (["support@example.no", "annen@example.no"], hooks)
        assert found["<w6@kunde.no>"][0] is None


async def test_a_form_without_a_message_field_is_422_naming_the_fields(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        response = await h.form({"text": "hei", "subject": "x"})
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert all(field in detail for field in FIELDS), detail

        empty = await h.form({"email": b""})
        assert empty.status_code == 422
        assert "empty" in empty.json()["detail"]

        no_boundary = await h.client.post(
            MAIL, content=b"email=x", headers={"Content-Type": "multipart/form-data"}
        )
        assert no_boundary.status_code == 422
        assert await h.stored() == []


async def test_a_message_above_the_limit_is_413_and_nothing_stored(tmp_path: Path) -> None:
    async with intake(tmp_path, max_message_bytes=1000) as h:
        too_large = await h.form({"email": b"x" * 1001})
        assert too_large.status_code == 413
        assert "1000 bytes" in too_large.json()["detail"]
        as_file = await h.form({}, files={"email": ("m.eml", b"x" * 1001, "message/rfc822")})
        assert as_file.status_code == 413
        # The other fields get room, but not without end.
        padded = await h.form({"email": raw_mail(), "headers": "h" * (2 * 1024 * 1024)})
        assert padded.status_code == 413
        assert await h.stored() == []
        assert not [p for p in h.runtime.blobs.root.rglob("*") if p.is_file()]

        under = await h.form({"email": raw_mail(), "headers": "h" * 1000})  # the message is under 1000
        assert under.status_code == 202, under.text
