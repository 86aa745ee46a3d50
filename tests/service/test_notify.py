"""The notify service through the bus, its API, the mail folder and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY

from services.notify.app import create_app
from services.notify.settings import Settings
from shared.bus import Message, Subscription
from shared.events import Envelope, decode, encode
from shared.events.cases import CaseCreated, Person
from shared.runtime import Runtime
from shared.testing import make_envelope, publish, running, wait_for

QUEUE = "notify.on_case_created"


def consumed(outcome: str) -> float:
    labels = {"service": "notify", "queue": QUEUE, "outcome": outcome}
    return REGISTRY.get_sample_value("allsak_bus_messages_consumed_total", labels) or 0.0


def case_created(number: str = "10023", **changes: Any) -> CaseCreated:
    fields: dict[str, Any] = dict(
        number=number,
        subject="Skriveren på 3. etasje virker ikke",
        status="new",
        type="incident",
        queue="Servicedesk",
        priority="normal",
        requester=Person(email="kari@kunde.no", name="Kari Nordmann"),
        channel="mail",
        created_at=datetime.now(UTC),
        source_message_id=f"<m{number}@kunde.no>",
        source_references=["<root@kunde.no>"],
    )
    fields.update(changes)
    return CaseCreated(**fields)


class Harness:
    def __init__(self, client: httpx.AsyncClient, runtime: Runtime, events: list[Envelope], mail_dir: Path):
        self.client = client
        self.runtime = runtime
        self.events = events
        self.mail_dir = mail_dir
        self.ok_before = consumed("ok")
        self.duplicates_before = consumed("duplicate")

    def handled(self, ok: int, duplicates: int = 0) -> bool:
        return (
            consumed("ok") - self.ok_before >= ok
            and consumed("duplicate") - self.duplicates_before >= duplicates
        )

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == name]

    def eml_files(self) -> list[Path]:
        return sorted(self.mail_dir.glob("*.eml")) if self.mail_dir.exists() else []

    async def mails(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/outgoing-mail", params=params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def mail_with_status(self, status: str, case: str = "10023") -> dict[str, Any] | None:
        mails = await self.mails(case=case)
        return mails[0] if mails and mails[0]["status"] == status else None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    return None if request.param == "sqlite" else pg_url_factory("notify")


@pytest.fixture
def start(
    tmp_path: Path, database_url: str | None
) -> Callable[..., contextlib.AbstractAsyncContextManager[Harness]]:
    @contextlib.asynccontextmanager
    async def started(**settings: Any) -> AsyncIterator[Harness]:
        runtime = Runtime.embedded(data_dir=tmp_path)
        events: list[Envelope] = []

        async def record(message: Message) -> None:
            events.append(decode(message.body))

        # A long poll: every prompt send in these tests comes from the wake-up after a commit
        # or from the retry timer, never from polling.
        options: dict[str, Any] = dict(
            database_url=database_url, smtp_url=None, mail_poll_seconds=30, outbox_poll_seconds=30
        )
        async with runtime:
            await runtime.transport.consume(
                Subscription(queue="test.notify", patterns=("notify.#",), handler=record)
            )
            app = create_app(Settings(data_dir=tmp_path, **{**options, **settings}), runtime)
            async with running(app) as client:
                yield Harness(client, runtime, events, tmp_path / "mail" / "sent")

    return started


class Sink:
    """An aiosmtpd handler that answers DATA from a script, then accepts."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.answers = list(answers or [])
        self.attempts = 0
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.answers:
            return self.answers.pop(0)
        self.received.append(envelope)
        return "250 2.0.0 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def smtp_server(sink: Sink) -> AsyncIterator[str]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(controller.stop)


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_acknowledgement(message: EmailMessage, *, sender: str = "Allsak <support@allsak.local>") -> None:
    assert message["Subject"] == "[Sak#10023] Skriveren på 3. etasje virker ikke"
    assert message["From"] == sender
    assert message["To"] == "Kari Nordmann <kari@kunde.no>"
    assert message["In-Reply-To"] == "<m10023@kunde.no>"
    assert message["References"] == "<root@kunde.no> <m10023@kunde.no>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert message["Message-ID"].startswith("<ack.10023.")
    assert message["Message-ID"].endswith("@allsak.local>")
    assert "registrert den som sak 10023" in message.get_content()


async def test_acknowledgement_is_written_to_the_mail_folder(start: Any) -> None:
    async with start() as h:
        await publish(h.runtime.transport, case_created())
        [eml] = await wait_for(h.eml_files)
        message = parse(eml.read_bytes())
        assert_acknowledgement(message)
        assert eml.name == message["Message-ID"].strip("<>") + ".eml"
        assert not list(h.mail_dir.glob(".tmp-*"))

        [mail] = await wait_for(lambda: h.mails(case="10023", status="sent"))
        assert mail["attempts"] == 1 and mail["last_error"] is None and mail["to"] == ["kari@kunde.no"]
        detail = (await h.client.get(f"/api/v1/outgoing-mail/{mail['id']}")).json()
        assert parse(detail["raw"].encode())["Message-ID"] == message["Message-ID"]

        [sent] = await wait_for(lambda: h.named("notify.mail_sent.v1"))
        assert sent["mail_id"] == mail["id"] and sent["case_number"] == "10023"
        assert sent["rfc_message_id"] == message["Message-ID"] and sent["kind"] == "acknowledgement"


async def test_redelivered_or_repeated_case_created_sends_one_mail(start: Any) -> None:
    async with start() as h:
        envelope = make_envelope(case_created())
        for _ in range(2):  # the broker delivering the same message twice
            await h.runtime.transport.publish(
                routing_key=envelope.routing_key, body=encode(envelope), message_id=str(envelope.message_id)
            )
        await wait_for(lambda: h.handled(ok=1, duplicates=1))
        # Later, a second case_created for the same number (say cases replayed its outbox).
        await publish(h.runtime.transport, case_created(subject="Same number, another event"))
        await wait_for(lambda: h.handled(ok=2, duplicates=1))
        await wait_for(lambda: h.mail_with_status("sent"))
        await wait_for(lambda: h.named("notify.mail_sent.v1"))

        assert len(await h.mails(case="10023")) == 1
        [eml] = h.eml_files()
        assert parse(eml.read_bytes())["Subject"] == "[Sak#10023] Skriveren på 3. etasje virker ikke"
        assert len(h.named("notify.mail_sent.v1")) == 1


async def test_no_acknowledgement_for_auto_replies_or_other_channels(start: Any) -> None:
    async with start() as h:
        await publish(h.runtime.transport, case_created("10023", suppress_auto_reply=True))
        await publish(h.runtime.transport, case_created("10024", channel="portal"))
        await publish(
            h.runtime.transport, case_created("10025", requester=Person(email="MAILER-DAEMON@kunde.no"))
        )
        await wait_for(lambda: h.handled(ok=3))
        assert await h.mails() == []
        assert h.eml_files() == []


async def test_acknowledgement_by_smtp_from_the_queue_sender(start: Any) -> None:
    sink = Sink()
    async with smtp_server(sink) as url:
        senders = {"IT": "IT-brukerstøtte <it@firma.no>"}
        async with start(smtp_url=url, queue_senders=senders) as h:
            await publish(h.runtime.transport, case_created(queue="IT"))
            [envelope] = await wait_for(lambda: sink.received)
            assert envelope.mail_from == "it@firma.no"
            assert envelope.rcpt_tos == ["kari@kunde.no"]
            message = parse(envelope.content)
            assert_acknowledgement(message, sender="IT-brukerstøtte <it@firma.no>")
            await wait_for(lambda: h.mail_with_status("sent"))
            assert h.eml_files() == []


async def test_smtp_451_is_retried_until_accepted(start: Any) -> None:
    sink = Sink(["451 4.3.0 Try again later"])
    async with smtp_server(sink) as url:
        async with start(smtp_url=url, retry_base_seconds=0.05) as h:
            await publish(h.runtime.transport, case_created())
            mail = await wait_for(lambda: h.mail_with_status("sent"))
            assert sink.attempts == 2 and len(sink.received) == 1
            assert mail["attempts"] == 2 and "451" in mail["last_error"]
            await wait_for(lambda: h.named("notify.mail_sent.v1"))
            [delayed] = h.named("notify.mail_failed.v1")
            assert delayed["permanent"] is False and "451" in delayed["reason"]


async def test_smtp_550_fails_at_once(start: Any) -> None:
    failed_before = (
        REGISTRY.get_sample_value("allsak_notify_mails_failed_total", {"kind": "acknowledgement"}) or 0.0
    )
    sink = Sink(["550 5.1.1 No such user here"])
    async with smtp_server(sink) as url:
        async with start(smtp_url=url, retry_base_seconds=0.05) as h:
            await publish(h.runtime.transport, case_created())
            mail = await wait_for(lambda: h.mail_with_status("failed"))
            assert mail["attempts"] == 1 and "550" in mail["last_error"]
            assert mail["next_attempt_at"] is None and mail["sent_at"] is None
            [failed] = await wait_for(lambda: h.named("notify.mail_failed.v1"))
            assert failed["permanent"] is True and failed["case_number"] == "10023"
            assert "No such user" in failed["reason"]
            assert h.named("notify.mail_sent.v1") == []
            assert sink.attempts == 1 and sink.received == []
    failed_after = REGISTRY.get_sample_value("allsak_notify_mails_failed_total", {"kind": "acknowledgement"})
    assert failed_after == failed_before + 1


async def test_unreachable_smtp_gives_up_after_max_attempts(start: Any) -> None:
    url = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    async with start(smtp_url=url, retry_base_seconds=0.02, max_attempts=3, smtp_timeout_seconds=5) as h:
        await publish(h.runtime.transport, case_created())
        mail = await wait_for(lambda: h.mail_with_status("failed"))
        assert mail["attempts"] == 3
        await wait_for(lambda: len(h.named("notify.mail_failed.v1")) == 2)
        delayed, given_up = h.named("notify.mail_failed.v1")
        assert (delayed["permanent"], given_up["permanent"]) == (False, True)


async def test_outgoing_mail_pages_and_errors(start: Any) -> None:
    async with start() as h:
        for number in ("10031", "10032", "10033"):
            await publish(h.runtime.transport, case_created(number))
        await wait_for(lambda: len(h.eml_files()) == 3)

        first = (await h.client.get("/api/v1/outgoing-mail", params={"limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        params = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await h.client.get("/api/v1/outgoing-mail", params=params)).json()
        assert len(second["items"]) == 1 and second["next_cursor"] is None
        ids = [m["id"] for m in first["items"] + second["items"]]
        assert len(set(ids)) == 3
        assert [m["case_number"] for m in await h.mails(case="10032")] == ["10032"]

        assert (await h.client.get("/api/v1/outgoing-mail", params={"cursor": "nonsense"})).status_code == 400
        assert (await h.client.get("/api/v1/outgoing-mail", params={"status": "lost"})).status_code == 422
        assert (await h.client.get("/api/v1/outgoing-mail/no-such-id")).status_code == 404
