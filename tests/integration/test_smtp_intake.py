"""SMTP and LMTP intake with real clients against the intake app: what is answered 250 is stored,
exactly once; everything else is refused with the right code and nothing is stored.

Most run on SQLite and the in-process bus; the database outage runs on PostgreSQL behind a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosmtplib
import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.intake.app import create_app
from services.intake.channels.smtp_server import STATE_KEY, MailListeners
from services.intake.models import Message
from services.intake.settings import Settings
from shared.bus import Message as BusMessage
from shared.bus import Subscription
from shared.events import Envelope, decode
from shared.runtime import Runtime
from shared.testing import running, wait_for
from tests.support.servers import PG_HOST, PG_PORT
from tests.support.tcpproxy import TcpProxy

SUPPORT = "support@example.no"
ALIAS = "hjelp@example.no"
SENDER = "kari@kunde.no"
RECEIVED = "intake.message_received.v1"


def mail(n: int = 1, *, body: bytes = b"") -> bytes:
    """CRLF throughout (SMTP clients normalise line ends), with 8-bit Latin-1 in the body."""
    return (
        (
            f"From: Kari Nordmann <{SENDER}>\r\n"
            f"To: {SUPPORT}\r\n"
            f"Subject: Skriveren {n}\r\n"
            f"Message-ID: <smtp{n}@kunde.no>\r\n"
            "Content-Type: text/plain; charset=iso-8859-1\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
        ).encode()
        + "Den virker ikke. Hilsen fra Tromsø\r\n".encode("iso-8859-1")
        + body
    )


def received_count(channel: str) -> float:
    return REGISTRY.get_sample_value("allsak_intake_messages_received_total", {"channel": channel}) or 0.0


class Harness:
    def __init__(
        self, client: httpx.AsyncClient, app: Any, runtime: Runtime, events: list[Envelope], mailbox_id: str
    ):
        self.mailbox_id = mailbox_id
        self.client = client
        self.app = app
        self.runtime = runtime
        self.events = events

    @property
    def listeners(self) -> MailListeners:
        listeners: MailListeners = self.app.state.ctx.state[STATE_KEY]
        return listeners

    def port(self, channel: str) -> int:
        return self.listeners.address(channel)[1]

    async def smtp(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port("smtp"), start_tls=False, timeout=30)
        await client.connect()
        return client

    async def stored(self) -> list[Message]:
        async with self.app.state.ctx.db.sessions() as session:
            return list(await session.scalars(select(Message).order_by(Message.received_at)))

    async def count(self) -> int:
        async with self.app.state.ctx.db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)

    async def message(self, message_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/intake/messages/{message_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def received(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == RECEIVED]


@contextlib.asynccontextmanager
async def intake(tmp_path: Path, **settings: Any) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    config = Settings(data_dir=tmp_path, smtp_listen="127.0.0.1:0", lmtp_listen="127.0.0.1:0", **settings)
    app = create_app(config, runtime)
    events: list[Envelope] = []

    async def record(message: BusMessage) -> None:
        events.append(decode(message.body))

    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.intake", patterns=("intake.#",), handler=record)
        )
        async with running(app) as client:
            created = await client.post(
                "/api/v1/mailboxes",
                json={"name": "Support", "addresses": [SUPPORT, ALIAS], "channel": "smtp"},
            )
            assert created.status_code == 201, created.text
            yield Harness(client, app, runtime, events, created.json()["id"])


def stored_id(reply: str) -> str:
    assert reply.startswith("2.0.0 stored as "), reply
    return reply.rsplit(" ", 1)[1]


class Dialog:
    """A bare SMTP/LMTP conversation, for what a well-behaved client library will not send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Dialog:
        dialog = cls(*await asyncio.open_connection("127.0.0.1", port))
        assert (await dialog.reply())[0].startswith("220")
        return dialog

    async def reply(self) -> list[str]:
        lines = []
        while True:
            line = (await self.reader.readline()).decode().rstrip("\r\n")
            assert line, "connection closed"
            lines.append(line)
            if line[3:4] != "-":
                return lines

    async def send(self, data: bytes, *, replies: int = 1) -> list[str]:
        self.writer.write(data)
        await self.writer.drain()
        return [line for _ in range(replies) for line in await self.reply()]

    async def quit(self) -> list[str]:
        """QUIT, then everything the server still says until it hangs up."""
        self.writer.write(b"QUIT\r\n")
        await self.writer.drain()
        rest = await self.reader.read()
        self.writer.close()
        return rest.decode().splitlines()


async def test_a_message_for_a_mailbox_is_stored_byte_for_byte_before_250(tmp_path: Path) -> None:
    before = received_count("smtp")
    raw = mail(1)
    async with intake(tmp_path, max_message_bytes=50_000) as h:
        client = await h.smtp()
        await client.ehlo()
        assert client.esmtp_extensions["size"] == "50000"
        errors, reply = await client.sendmail(SENDER, [ALIAS.upper()], raw)
        assert errors == {}
        message_id = stored_id(reply)
        # 250 came after the commit: the record is there without waiting.
        stored = await h.message(message_id)
        assert stored["channel"] == "smtp"
        assert stored["mailbox"] == SUPPORT
        [message] = await h.stored()
        assert (message.state, message.envelope, message.mailbox_id) == ("received", [ALIAS], h.mailbox_id)
        assert stored["raw_sha256"] == hashlib.sha256(raw).hexdigest()
        assert await h.runtime.blobs.get(stored["raw_sha256"]) == raw
        event = (await wait_for(h.received))[0]
        assert event["id"] == message_id
        assert event["subject"] == "Skriveren 1"

        # The same bytes again (a sender retrying after a lost answer) are the same message.
        _, again = await client.sendmail(SENDER, [SUPPORT], raw)
        assert stored_id(again) == message_id
        assert await h.count() == 1
        await client.quit()
    assert received_count("smtp") == before + 1


async def test_lines_longer_than_rfc_5321_allows_are_stored_not_refused(tmp_path: Path) -> None:
    raw = mail(2, body=b"<p>" + b"x" * 5000 + b"</p>\r\n")
    async with intake(tmp_path) as h:
        client = await h.smtp()
        _, reply = await client.sendmail(SENDER, [SUPPORT], raw)
        stored = await h.message(stored_id(reply))
        assert await h.runtime.blobs.get(stored["raw_sha256"]) == raw
        await client.quit()


async def test_unknown_recipients_are_refused_with_550(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        for body in (
            {"name": "Via webhook", "addresses": ["hooks@example.no"], "channel": "webhook"},
            {"name": "Closed", "addresses": ["closed@example.no"], "channel": "smtp", "active": False},
        ):
            assert (await h.client.post("/api/v1/mailboxes", json=body)).status_code == 201
        client = await h.smtp()
        await client.ehlo()
        await client.mail(SENDER)
        for address in ("nobody@example.no", "hooks@example.no", "closed@example.no"):
            with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
                await client.rcpt(address)
            assert (refused.value.code, refused.value.message) == (550, "5.1.1 mailbox unknown")
        await client.rset()

        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await client.sendmail(SENDER, ["nobody@example.no"], mail(3))
        errors, reply = await client.sendmail(SENDER, ["nobody@example.no", SUPPORT], mail(3))
        assert errors["nobody@example.no"].code == 550
        stored_id(reply)
        assert await h.count() == 1
        await client.quit()


async def test_a_message_above_the_limit_is_refused_with_552_and_not_stored(tmp_path: Path) -> None:
    big = mail(4, body=b"y" * 70 + b"\r\n") * 40
    async with intake(tmp_path, max_message_bytes=2000) as h:
        client = await h.smtp()
        # A client that declares the size is refused at MAIL FROM ...
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as declared:
            await client.sendmail(SENDER, [SUPPORT], big)
        assert (declared.value.code, declared.value.message) == (552, "5.3.4 message too large")
        # ... and one that does not, once the data has passed the limit.
        await client.mail(SENDER)
        await client.rcpt(SUPPORT)
        with pytest.raises(aiosmtplib.SMTPDataError) as sent:
            await client.data(big)
        assert (sent.value.code, sent.value.message) == (552, "5.3.4 message too large")
        assert await h.count() == 0
        assert not [p for p in h.runtime.blobs.root.rglob("*") if p.is_file()]

        _, reply = await client.sendmail(SENDER, [SUPPORT], mail(5))  # the session goes on
        stored_id(reply)
        await client.quit()


SMUGGLED = (
    b"MAIL FROM:<evil@angriper.no>\r\nRCPT TO:<" + SUPPORT.encode() + b">\r\nDATA\r\n"
    b"From: ceo@example.no\r\nSubject: smuggled\r\n\r\nsmuggled\r\n"
)


@pytest.mark.parametrize("end", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r"])
async def test_a_smuggled_message_stays_inside_the_one_it_came_in(tmp_path: Path, end: bytes) -> None:
    async with intake(tmp_path) as h:
        dialog = await Dialog.open(h.port("smtp"))
        assert (await dialog.send(b"EHLO angriper.no\r\n"))[-1].startswith("250 ")
        assert (await dialog.send(f"MAIL FROM:<{SENDER}>\r\n".encode()))[0].startswith("250")
        assert (await dialog.send(f"RCPT TO:<{SUPPORT}>\r\n".encode()))[0].startswith("250")
        assert (await dialog.send(b"DATA\r\n"))[0].startswith("354")
        raw = mail(6, body=b"first" + end + SMUGGLED)
        [answer] = await dialog.send(raw + b".\r\n")
        assert answer.startswith("250 2.0.0 stored as ")
        # Had the smuggled commands been read as commands, they would be answered before QUIT.
        assert await dialog.quit() == ["221 Bye"]

        [message] = await h.stored()
        stored = await h.runtime.blobs.get(message.raw_sha256)
        assert b"smuggled" in stored
        assert stored.startswith(raw[:40])
        assert await h.count() == 1


async def test_storage_down_is_451_and_nothing_stored_then_250_once_it_is_back(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    async with intake(tmp_path) as h:
        root = h.runtime.blobs.root
        client = await h.smtp()
        h.runtime.blobs.root = blocker / "blobs"  # every write fails: the blob store is "down"
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.sendmail(SENDER, [SUPPORT], mail(7))
        assert (refused.value.code, refused.value.message) == (
            451,
            "4.3.0 temporarily unable to store, try again later",
        )
        assert await h.count() == 0
        h.runtime.blobs.root = root
        _, reply = await client.sendmail(SENDER, [SUPPORT], mail(7))
        stored_id(reply)
        assert await h.count() == 1
        await client.quit()


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.mark.integration
async def test_database_down_is_451_then_the_resent_message_is_stored_once(
    tmp_path: Path, pg_url_factory: Callable[[str], str]
) -> None:
    url = pg_url_factory("intake")
    proxy = TcpProxy(PG_HOST, PG_PORT)
    await proxy.start()
    raw = mail(8)
    try:
        async with intake(tmp_path, database_url=through(proxy, url)) as h:
            client = await h.smtp()
            await client.ehlo()
            await client.mail(SENDER)
            await client.rcpt(SUPPORT)
            await proxy.stop()
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await client.data(raw)
            assert (refused.value.code, refused.value.message) == (
                451,
                "4.3.0 temporarily unable to store, try again later",
            )
            await client.mail(SENDER)
            with pytest.raises(aiosmtplib.SMTPRecipientRefused) as lookup:
                await client.rcpt(SUPPORT)
            assert lookup.value.code == 451
            await client.rset()

            await proxy.start()
            _, reply = await client.sendmail(SENDER, [SUPPORT], raw)
            message_id = stored_id(reply)
            [message] = await h.stored()
            assert message.id == message_id
            assert message.raw_sha256 == hashlib.sha256(raw).hexdigest()
            await wait_for(h.received)
            assert [e["id"] for e in h.received()] == [message_id]
            await client.quit()
    finally:
        await proxy.stop()


async def test_lmtp_answers_each_recipient(tmp_path: Path) -> None:
    before = received_count("lmtp")
    raw = mail(9)
    async with intake(tmp_path) as h:
        dialog = await Dialog.open(h.port("lmtp"))
        assert (await dialog.send(b"EHLO mta.example.no\r\n"))[0].startswith("500")
        assert (await dialog.send(b"LHLO mta.example.no\r\n"))[-1].startswith("250 ")
        assert (await dialog.send(f"MAIL FROM:<{SENDER}>\r\n".encode()))[0].startswith("250")
        assert await dialog.send(f"RCPT TO:<{SUPPORT}>\r\n".encode()) == ["250 2.1.5 recipient ok"]
        assert await dialog.send(b"RCPT TO:<nobody@example.no>\r\n") == ["550 5.1.1 mailbox unknown"]
        assert await dialog.send(f"RCPT TO:<{ALIAS}>\r\n".encode()) == ["250 2.1.5 recipient ok"]
        assert (await dialog.send(b"DATA\r\n"))[0].startswith("354")
        first, second = await dialog.send(raw + b".\r\n", replies=2)
        assert first.startswith("250 2.0.0 stored as ") and first.endswith(f"<{SUPPORT}>")
        assert second.startswith("250 2.0.0 stored as ") and second.endswith(f"<{ALIAS}>")
        assert first.split()[4] == second.split()[4]
        assert await dialog.quit() == ["221 Bye"]

        [message] = await h.stored()
        assert (message.channel, message.mailbox, message.envelope) == ("lmtp", SUPPORT, [SUPPORT, ALIAS])
        assert message.id == first.split()[4]
        [event] = await wait_for(h.received)
        assert (event["id"], event["channel"], event["mailbox_id"]) == (message.id, "lmtp", h.mailbox_id)
    assert received_count("lmtp") == before + 1


async def test_lmtp_refuses_a_message_too_large_for_each_recipient(tmp_path: Path) -> None:
    async with intake(tmp_path, max_message_bytes=1000) as h:
        dialog = await Dialog.open(h.port("lmtp"))
        await dialog.send(b"LHLO mta.example.no\r\n")
        await dialog.send(f"MAIL FROM:<{SENDER}>\r\n".encode())
        await dialog.send(f"RCPT TO:<{SUPPORT}>\r\n".encode())
        await dialog.send(f"RCPT TO:<{ALIAS}>\r\n".encode())
        await dialog.send(b"DATA\r\n")
        answers = await dialog.send(mail(10, body=b"z" * 60 + b"\r\n") * 20 + b".\r\n", replies=2)
        assert answers == [
            f"552 5.3.4 message too large <{SUPPORT}>",
            f"552 5.3.4 message too large <{ALIAS}>",
        ]
        assert await dialog.quit() == ["221 Bye"]
        assert await h.count() == 0


def self_signed(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            *"req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost".split(),
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_starttls_is_offered_when_a_certificate_is_set(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with intake(tmp_path, smtp_tls_cert=cert, smtp_tls_key=key) as h:
        client = await h.smtp()
        await client.ehlo()
        assert client.supports_extension("starttls")
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        await client.starttls(tls_context=context)
        _, reply = await client.sendmail(SENDER, [SUPPORT], mail(11))
        assert (await h.message(stored_id(reply)))["channel"] == "smtp"
        await client.quit()


async def test_stopping_the_service_closes_open_sessions(tmp_path: Path) -> None:
    async with intake(tmp_path) as h:
        dialog = await Dialog.open(h.port("smtp"))
        await dialog.send(b"EHLO idle.example.no\r\n")
    assert await asyncio.wait_for(dialog.reader.read(), 10) == b""
    dialog.writer.close()
