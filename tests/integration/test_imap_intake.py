"""The IMAP channel end to end: a real Dovecot, the intake app on SQLite and the in-process bus.

Mailboxes are configured through ``POST /api/v1/mailboxes``; mail arrives by APPEND from the
test; the manager worker of the app runs the pollers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.intake.app import create_app
from services.intake.channels import imap_store as store
from services.intake.channels.imap import ImapManager
from services.intake.channels.imap_poller import MailboxPoller
from services.intake.channels.imap_store import ImapMailbox
from services.intake.mailboxes.schemas import ImapSettings
from services.intake.models import ImapCheckpoint, Message, Quarantine
from services.intake.service import receive_message
from services.intake.settings import Settings
from shared.bus import Message as BusMessage
from shared.bus import Subscription
from shared.events import Envelope, decode
from shared.runtime import Runtime
from shared.testing import running, wait_for
from tests.support.dovecot import Dovecot, dovecot

pytestmark = pytest.mark.integration

RECEIVED = "intake.message_received.v1"
PROCESSED = "Allsak.Processed"  # "Allsak/Processed" in Dovecot's maildir++ layout
FAST = {
    "imap_refresh_seconds": 0.1,
    "imap_lease_seconds": 3,
    "imap_retry_seconds": 0.3,
    "imap_timeout_seconds": 5,
}


def mail(n: int, subject: str = "Skriveren virker ikke") -> bytes:
    return (
        f"From: Kari Nordmann <kari@kunde.no>\r\nTo: support@firma.no\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: <imap{n}@kunde.no>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hilsen fra Tromsø, {n}.\r\n"
    ).encode()


class Harness:
    def __init__(self, client: httpx.AsyncClient, app: Any, server: Dovecot, events: list[Envelope]):
        self.client = client
        self.app = app
        self.server = server
        self.events = events

    @property
    def ctx(self) -> Any:
        return self.app.state.ctx

    @property
    def manager(self) -> ImapManager:
        manager: ImapManager = self.ctx.state["imap"]
        return manager

    async def mailbox(
        self,
        *,
        active: bool = True,
        secret: str | None = None,
        name: str = "Kundeservice",
        address: str = "support@firma.no",
        **imap: Any,
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "addresses": [address],
            "channel": "imap",
            "active": active,
            "imap": self.server.imap_settings(**imap),
            "secret": secret or self.server.password,
        }
        response = await self.client.post("/api/v1/mailboxes", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def patch(self, mailbox_id: str, **changes: Any) -> None:
        response = await self.client.patch(f"/api/v1/mailboxes/{mailbox_id}", json=changes)
        assert response.status_code == 200, response.text

    def state(self, mailbox_id: str) -> str | None:
        return self.manager.states.get(mailbox_id)

    async def stored(self) -> list[Message]:
        async with self.ctx.db.sessions() as session:
            return list(await session.scalars(select(Message).order_by(Message.received_at)))

    async def count(self, model: Any) -> int:
        async with self.ctx.db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    def received(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.routing_key == RECEIVED]

    async def moved(self, *raws: bytes, folder: str = "INBOX") -> bool:
        """Every one of ``raws`` is in the processed folder and ``folder`` is empty."""
        processed = await self.server.messages(PROCESSED)
        return all(raw in processed for raw in raws) and not await self.server.messages(folder)


@contextlib.asynccontextmanager
async def intake(tmp_path: Path, server: Dovecot, **settings: Any) -> AsyncIterator[Harness]:
    runtime = Runtime.embedded(data_dir=tmp_path)
    app = create_app(Settings(data_dir=tmp_path, **{**FAST, **settings}), runtime)
    events: list[Envelope] = []

    async def record(message: BusMessage) -> None:
        events.append(decode(message.body))

    async with runtime:
        await runtime.transport.consume(
            Subscription(queue="test.imap", patterns=("intake.#",), handler=record)
        )
        async with running(app) as client:
            yield Harness(client, app, server, events)


def poller(h: Harness, created: dict[str, Any], *, holder: str, **hooks: Any) -> MailboxPoller:
    """A poller of our own beside the app's (a second replica, or one with a fault hook)."""
    mailbox = ImapMailbox(
        id=created["id"],
        name=created["name"],
        address=created["addresses"][0],
        imap=ImapSettings.model_validate(created["imap"]),
        secret=h.server.password,
        version=datetime.fromisoformat(created["updated_at"]),
    )
    return MailboxPoller(
        mailbox, db=h.ctx.db, blobs=h.ctx.blobs, settings=h.ctx.settings, holder=holder, **hooks
    )


async def test_new_mail_is_stored_then_moved_and_idle_takes_it_at_once(tmp_path: Path) -> None:
    async with dovecot() as server, intake(tmp_path, server) as h:
        # An hour between searches: only IDLE can bring the mail in within the test's time.
        created = await h.mailbox(poll_seconds=3600)
        await wait_for(lambda: h.state(created["id"]) == "idle", timeout=5)
        raw = mail(1)
        uid = await server.append(raw)
        await wait_for(lambda: h.moved(raw), timeout=5)

        [message] = await h.stored()
        assert (message.channel, message.mailbox, message.raw_sha256) == (
            "imap",
            "support@firma.no",
            hashlib.sha256(raw).hexdigest(),
        )
        assert await h.ctx.blobs.get(message.raw_sha256) == raw
        [event] = await wait_for(h.received)
        assert event["id"] == message.id and event["subject"] == "Skriveren virker ikke 1"
        saved = await store.checkpoint(h.ctx.db, mailbox_id=created["id"], folder="INBOX")
        assert saved is not None and saved.last_uid == uid
        assert saved.uidvalidity == await server.uidvalidity()
        assert await store.lease_holder(h.ctx.db, mailbox_id=created["id"]) == h.manager.holder


async def test_without_idle_the_folder_is_searched_every_poll_and_a_quarantined_mail_is_taken(
    tmp_path: Path,
) -> None:
    garbage = b"\x00\xff not a message \x00" * 20
    async with dovecot() as server, intake(tmp_path, server, max_hops=1) as h:
        created = await h.mailbox(idle=False, poll_seconds=1)
        good = mail(2)
        # Two Received headers against max_hops=1: a loop, so quarantined.
        looping = b"Received: from a\r\nReceived: from b\r\n" + mail(3)
        await server.append(good)
        await server.append(looping)
        await wait_for(lambda: h.moved(good, looping), timeout=10)
        assert h.state(created["id"]) in ("sleeping", "taking")
        assert await h.count(Message) == 2
        assert await h.count(Quarantine) == 1
        await server.append(garbage)

        async def all_three_moved() -> bool:
            # Not compared by bytes: Dovecot stores a NUL as 0x80.
            return len(await server.messages(PROCESSED)) == 3 and not await server.messages()

        await wait_for(all_three_moved, timeout=10)
        assert await h.count(Message) == 3
        assert await h.count(Quarantine) == 2


async def test_a_crash_between_commit_and_move_leaves_no_duplicate(tmp_path: Path) -> None:
    async with dovecot() as server, intake(tmp_path, server) as h:
        # Inactive: the app leaves it alone while our own poller crashes on it.
        created = await h.mailbox(active=False)
        raw = mail(4)
        await server.append(raw)

        async def crash(uid: int) -> None:
            raise asyncio.CancelledError  # the process dies after the commit, before the move

        doomed = asyncio.create_task(poller(h, created, holder="doomed", after_commit=crash).run())
        await asyncio.wait({doomed}, timeout=10)
        assert doomed.cancelled()
        assert await h.count(Message) == 1
        assert await server.messages("INBOX") == [raw]
        saved = await store.checkpoint(h.ctx.db, mailbox_id=created["id"], folder="INBOX")
        assert saved is not None and saved.last_uid == 0

        # "Restart": the app's own poller takes the mailbox over.
        await h.patch(created["id"], active=True)
        await wait_for(lambda: h.moved(raw), timeout=10)
        assert await h.count(Message) == 1
        assert len(h.received()) == 1


async def test_a_new_uidvalidity_reads_the_folder_again_but_imports_nothing_twice(tmp_path: Path) -> None:
    async with dovecot() as server, intake(tmp_path, server) as h:
        assert (await server.command("CREATE", "Support")).result == "OK"
        # IDLE says nothing of a folder made anew; the SELECT after each quiet second sees it.
        created = await h.mailbox(folder="Support", poll_seconds=1)
        first, second = mail(5), mail(6)
        await server.append(first, "Support")
        await server.append(second, "Support")
        await wait_for(lambda: h.moved(first, second, folder="Support"), timeout=10)
        old = await server.uidvalidity("Support")

        # The folder is rebuilt (a restore, a migration): new UIDVALIDITY, the same messages.
        assert (await server.command("DELETE", "Support")).result == "OK"
        assert (await server.command("CREATE", "Support")).result == "OK"
        await server.append(first, "Support")
        await server.append(second, "Support")
        new = await server.uidvalidity("Support")
        assert new != old

        async def taken_again() -> bool:
            processed = await server.messages(PROCESSED)
            return len(processed) == 4 and not await server.messages("Support")

        await wait_for(taken_again, timeout=15)
        saved = await store.checkpoint(h.ctx.db, mailbox_id=created["id"], folder="Support")
        assert saved is not None and saved.uidvalidity == new
        assert await h.count(Message) == 2
        assert len(h.received()) == 2


async def test_a_second_poller_waits_for_the_lease_and_takes_over(tmp_path: Path) -> None:
    async with dovecot() as server, intake(tmp_path, server) as h:
        created = await h.mailbox()
        await wait_for(lambda: h.state(created["id"]) == "idle", timeout=5)
        other = poller(h, created, holder="replica-b")
        replica = asyncio.create_task(other.run())
        try:
            await wait_for(lambda: other.state == "waiting", timeout=5)
            first = mail(7)
            await server.append(first)
            await wait_for(lambda: h.moved(first), timeout=5)
            assert other.state == "waiting"
            assert await store.lease_holder(h.ctx.db, mailbox_id=created["id"]) == h.manager.holder

            # This replica stops polling it (released on stop); the other one takes over.
            await h.patch(created["id"], active=False)
            await wait_for(lambda: other.state == "idle", timeout=10)
            assert await store.lease_holder(h.ctx.db, mailbox_id=created["id"]) == "replica-b"
            second = mail(8)
            await server.append(second)
            await wait_for(lambda: h.moved(first, second), timeout=5)
            assert await h.count(Message) == 2
        finally:
            replica.cancel()
            await asyncio.wait({replica})
        assert await store.lease_holder(h.ctx.db, mailbox_id=created["id"]) is None


async def test_a_message_that_cannot_be_stored_stays_and_does_not_hold_up_the_next(tmp_path: Path) -> None:
    store_works = asyncio.Event()
    failures: list[bytes] = []

    async def flaky(*args: Any, raw: bytes, **kwargs: Any) -> Any:
        if b"Subject: Ustabil" in raw and not store_works.is_set():
            failures.append(raw)
            raise OSError("the blob store is unreachable")
        return await receive_message(*args, raw=raw, **kwargs)

    async with dovecot() as server, intake(tmp_path, server) as h:
        created = await h.mailbox(active=False, poll_seconds=3600)
        bad, good = mail(9, "Ustabil"), mail(10)
        await server.append(bad)
        await server.append(good)
        task = asyncio.create_task(poller(h, created, holder="solo", receive=flaky).run())
        try:

            async def only_the_good_one_moved() -> bool:
                return await server.messages(PROCESSED) == [good] and await server.messages() == [bad]

            await wait_for(only_the_good_one_moved, timeout=10)
            # Tried again every imap_retry_seconds, and the checkpoint stays in front of it.
            await wait_for(lambda: len(failures) >= 3, timeout=10)
            saved = await store.checkpoint(h.ctx.db, mailbox_id=created["id"], folder="INBOX")
            assert saved is not None and saved.last_uid == 0
            store_works.set()
            await wait_for(lambda: h.moved(bad, good), timeout=10)
        finally:
            task.cancel()
            await asyncio.wait({task})
        assert await h.count(Message) == 2
        async with h.ctx.db.sessions() as session:
            row = await session.get(ImapCheckpoint, (created["id"], "INBOX"))
        # UID 2 left the folder while UID 1 held the checkpoint; it need not pass UID 2 now.
        assert row is not None and row.last_uid == 1


async def test_tls_login_with_the_configured_ca_and_a_changed_mailbox_restarts_its_poller(
    tmp_path: Path,
) -> None:
    async with dovecot(tls=True) as server, intake(tmp_path, server, imap_ca_file=server.ca_file) as h:
        created = await h.mailbox(security="starttls")
        first = mail(11)
        await server.append(first)
        await wait_for(lambda: h.moved(first), timeout=10)
        # An edit is a new configuration version: the poller starts again with it.
        await h.patch(created["id"], imap=server.imap_settings(security="tls", port=server.tls_port))
        second = mail(12)
        await server.append(second)
        await wait_for(lambda: h.moved(first, second), timeout=10)
        logins = [line for line in server.log.splitlines() if "Login: user=<agent@example.no>" in line]
        assert sum(", TLS," in line for line in logins) >= 2


async def test_xoauth2_mailbox(tmp_path: Path) -> None:
    async with dovecot(oauth2=True) as server, intake(tmp_path, server) as h:
        assert server.oauth_token
        await h.mailbox(auth="xoauth2", secret=server.oauth_token)
        raw = mail(13)
        await server.append(raw)
        await wait_for(lambda: h.moved(raw), timeout=10)
        assert "method=XOAUTH2" in server.log
        assert server.oauth_token not in server.log


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_lease_has_one_holder_at_a_time(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    settings = {}
    if backend == "postgresql":
        settings["database_url"] = request.getfixturevalue("pg_url_factory")("intake")
    nowhere = Dovecot(tmp_path, port=9)  # the mailboxes stay inactive: no server is needed
    async with intake(tmp_path, nowhere, **settings) as h:
        db = h.ctx.db
        mailbox_id = (await h.mailbox(active=False))["id"]
        assert await store.take_lease(db, mailbox_id=mailbox_id, holder="a", seconds=0.3)
        assert await store.take_lease(db, mailbox_id=mailbox_id, holder="a", seconds=0.3)  # renewed
        assert not await store.take_lease(db, mailbox_id=mailbox_id, holder="b", seconds=60)
        assert await store.lease_holder(db, mailbox_id=mailbox_id) == "a"

        # Not renewed in time: another holder takes it, and the first cannot renew any more.
        await wait_for(lambda: store.take_lease(db, mailbox_id=mailbox_id, holder="b", seconds=60), timeout=5)
        assert not await store.take_lease(db, mailbox_id=mailbox_id, holder="a", seconds=60)
        await store.release_lease(db, mailbox_id=mailbox_id, holder="a")  # not a's to release
        assert await store.lease_holder(db, mailbox_id=mailbox_id) == "b"
        await store.release_lease(db, mailbox_id=mailbox_id, holder="b")
        assert await store.lease_holder(db, mailbox_id=mailbox_id) is None

        # Two replicas at once, on a row that exists and on one that does not: one wins each.
        fresh = (await h.mailbox(active=False, name="Innkjøp", address="innkjop@firma.no"))["id"]
        for target in (mailbox_id, fresh):
            won = await asyncio.gather(
                *(store.take_lease(db, mailbox_id=target, holder=holder, seconds=60) for holder in "xy")
            )
            assert sorted(won) == [False, True]
