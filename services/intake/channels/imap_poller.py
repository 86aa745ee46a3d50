"""The poller of one IMAP mailbox: take each new message into intake, then move it away.

Order per message, which is what makes it safe (DESIGN.md section 5):

1. FETCH its bytes (BODY.PEEK[], so that a message left behind stays unread);
2. ``receive_message`` stores the bytes and commits the message (or its quarantine);
3. only then MOVE it to the processed folder;
4. then advance the checkpoint (mailbox, folder, UIDVALIDITY, last UID).

A crash between 2 and 3 leaves the message in the folder and the checkpoint behind it, so the
next run fetches it again; the same bytes have the same content hash and ``receive_message``
answers with the message it already has. IMAP never changes a stored message's bytes, and
Dovecot hands back exactly what was appended, except that bare LF line ends come back as CRLF
and NUL bytes as 0x80 - the same on every fetch - so the hash is a sound key. A Message-ID
dedupe is not added: it would also drop distinct mail that reuses a Message-ID, and the same
mail delivered twice by the MTA (other Received headers) is two deliveries, not a retry of ours.

A message that cannot be stored (database or blob store down) stays in the folder and holds
the checkpoint back; messages after it are still taken and moved, and it is tried again after
``imap_retry_seconds``. A quarantined message counts as taken: its bytes are stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from services.intake.channels import imap_store as store
from services.intake.channels.imap_client import CommandFailed, ImapConnection, ImapError
from services.intake.channels.imap_store import Checkpoint, ImapMailbox
from services.intake.service import Receipt, receive_message
from services.intake.settings import Settings
from shared.blobs import BlobStore
from shared.db import Database

logger = logging.getLogger(__name__)

AfterCommit = Callable[[int], Awaitable[None]]
Receive = Callable[..., Awaitable[Receipt]]

BATCH = 200
MAX_BACKOFF = 300.0


class MailboxPoller:
    """Takes one mailbox's new mail while it holds the mailbox's lease."""

    def __init__(
        self,
        mailbox: ImapMailbox,
        *,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        holder: str,
        after_commit: AfterCommit | None = None,
        receive: Receive = receive_message,
    ) -> None:
        self.mailbox = mailbox
        self.holder = holder
        self._db = db
        self._blobs = blobs
        self._settings = settings
        self._after_commit = after_commit
        """Test hook: runs after a message is committed and before it is moved."""
        self._receive = receive
        self._lease_until = 0.0
        self._position = Checkpoint(0, 0)
        self._log: dict[str, Any] = {"extra": {"mailbox_id": mailbox.id}}
        self._failing: set[int] = set()
        self.state = "starting"
        """What it does now: waiting (for the lease), connecting, taking, idle, sleeping or retrying."""

    @property
    def _renew_every(self) -> float:
        return self._settings.imap_lease_seconds / 3

    async def run(self) -> None:
        """Wait for the lease, work the mailbox while holding it, and wait again when it is lost."""
        try:
            while True:
                if await self._lease():
                    await self._while_leased()
                self.state = "waiting"
                await asyncio.sleep(self._renew_every)
        finally:
            try:
                await store.release_lease(self._db, mailbox_id=self.mailbox.id, holder=self.holder)
            except Exception as exc:
                logger.warning("mailbox %s: lease not released: %s", self.mailbox.name, exc, **self._log)

    async def _lease(self) -> bool | None:
        """Take or renew the lease: True, False when another holds it, None when the database failed."""
        started = time.monotonic()
        try:
            taken = await store.take_lease(
                self._db,
                mailbox_id=self.mailbox.id,
                holder=self.holder,
                seconds=self._settings.imap_lease_seconds,
            )
        except Exception as exc:
            logger.warning("mailbox %s: lease not renewed: %s", self.mailbox.name, exc, **self._log)
            return None
        if taken:
            self._lease_until = started + self._settings.imap_lease_seconds
        return taken

    async def _while_leased(self) -> None:
        """Work beside the lease renewal; stop working before the lease could lapse."""
        work = asyncio.create_task(self._work(), name=f"imap:{self.mailbox.name}")
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=self._renew_every)
                if done:
                    work.result()
                    return
                renewed = await self._lease()
                if renewed is False or (
                    renewed is None and time.monotonic() >= self._lease_until - self._renew_every
                ):
                    logger.warning("mailbox %s: lease lost; stopped", self.mailbox.name, **self._log)
                    return
        finally:
            if not work.done():
                work.cancel()
            await asyncio.wait({work})

    async def _work(self) -> None:
        """IMAP sessions one after another; a failed one is logged and retried with backoff."""
        delay = 1.0
        while True:
            started = time.monotonic()
            self.state = "connecting"
            try:
                await self._session()
            except (ImapError, OSError) as exc:
                logger.warning(
                    "mailbox %s: IMAP session with %s ended: %s; again in %.0fs",
                    self.mailbox.name,
                    self.mailbox.imap.host,
                    exc,
                    delay,
                    **self._log,
                )
            except Exception:
                logger.exception("mailbox %s: IMAP session failed; again in %.0fs", self.mailbox.name, delay)
            self.state = "retrying"
            await asyncio.sleep(delay)
            delay = 1.0 if time.monotonic() - started > MAX_BACKOFF else min(delay * 2, MAX_BACKOFF)

    async def _session(self) -> None:
        settings = self._settings
        connection = await ImapConnection.open(
            self.mailbox.imap,
            self.mailbox.secret,
            timeout=settings.imap_timeout_seconds,
            ca_file=settings.imap_ca_file,
        )
        try:
            await self._attend(connection)
        finally:
            await connection.close()

    async def _attend(self, connection: ImapConnection) -> None:
        imap = self.mailbox.imap
        self._position = await self._checkpoint(await connection.select(imap.folder))
        try:
            await connection.ensure_folder(imap.processed_folder)
        except CommandFailed as exc:
            logger.error("mailbox %s: %s; messages stay where they are", self.mailbox.name, exc, **self._log)
        idle = imap.idle and "IDLE" in connection.capabilities
        logger.info(
            "mailbox %s: watching %s on %s (%s)",
            self.mailbox.name,
            imap.folder,
            imap.host,
            "IDLE" if idle else f"every {imap.poll_seconds:g}s",
            **self._log,
        )
        news = True
        while True:
            if not news:
                # SELECT again: a folder deleted and made anew (new UIDVALIDITY) announces nothing.
                await self._reselect(connection)
            self.state = "taking"
            retry = await self._take_new(connection)
            wait = min(self._settings.imap_retry_seconds, imap.poll_seconds) if retry else imap.poll_seconds
            self.state = "idle" if idle else "sleeping"
            if idle:
                # A search at least every poll_seconds as well: an EXISTS that slips in between
                # two commands is not announced again.
                news = await connection.idle(min(wait, self._settings.imap_idle_seconds))
            else:
                await asyncio.sleep(wait)
                news = False

    async def _reselect(self, connection: ImapConnection) -> None:
        uidvalidity = await connection.select(self.mailbox.imap.folder)
        if uidvalidity != self._position.uidvalidity:
            self._position = await self._checkpoint(uidvalidity)

    async def _checkpoint(self, uidvalidity: int) -> Checkpoint:
        """The saved position, or a fresh one when the folder's UIDVALIDITY is new."""
        folder = self.mailbox.imap.folder
        saved = await store.checkpoint(self._db, mailbox_id=self.mailbox.id, folder=folder)
        if saved is not None and saved.uidvalidity == uidvalidity:
            return saved
        if saved is not None:
            logger.warning(
                "mailbox %s: UIDVALIDITY of %s changed from %s to %s; the folder is read again "
                "and what was taken before is recognised by its content",
                self.mailbox.name,
                folder,
                saved.uidvalidity,
                uidvalidity,
                **self._log,
            )
        fresh = Checkpoint(uidvalidity, 0)
        await store.save_checkpoint(self._db, mailbox_id=self.mailbox.id, folder=folder, at=fresh)
        return fresh

    async def _take_new(self, connection: ImapConnection) -> bool:
        """Take every message above the checkpoint; True when one failed and is to be tried again."""
        failed = False
        after = self._position.last_uid
        while batch := (await connection.uids_after(after))[:BATCH]:
            sizes = await connection.sizes(batch)
            for uid in batch:
                after = uid
                if not await self._take(connection, uid, sizes.get(uid)):
                    failed = True
                elif not failed:
                    await self._advance(uid)
        return failed

    async def _take(self, connection: ImapConnection, uid: int, size: int | None) -> bool:
        """Store one message and move it; False when it could not be stored."""
        name, imap = self.mailbox.name, self.mailbox.imap
        limit = self._settings.max_message_bytes
        if size is not None and size > limit:
            logger.error(
                "mailbox %s: UID %s has %s bytes, over the limit of %s; left in %s for a person",
                name,
                uid,
                size,
                limit,
                imap.folder,
                **self._log,
            )
            return True
        try:
            raw = await connection.fetch(uid)
        except CommandFailed as exc:
            logger.warning(
                "mailbox %s: UID %s not fetched: %s; tried again later", name, uid, exc, **self._log
            )
            return False
        if raw is None:
            logger.info("mailbox %s: UID %s was gone before it was fetched", name, uid, **self._log)
            return True
        try:
            receipt = await self._receive(
                self._db,
                self._blobs,
                raw=raw,
                channel="imap",
                limits=self._settings.limits,
                timeout=self._settings.parse_timeout_seconds,
                mailbox=self.mailbox.address,
                mailbox_id=self.mailbox.id,
                loops=self._settings.loops,
            )
        except Exception as exc:
            logger.warning(
                "mailbox %s: UID %s not stored (%s); it stays in %s and is tried again",
                name,
                uid,
                exc,
                imap.folder,
                exc_info=uid not in self._failing,  # the traceback once, not on every retry
                **self._log,
            )
            self._failing.add(uid)
            return False
        self._failing.discard(uid)
        logger.info(
            "mailbox %s: UID %s is message %s%s",
            name,
            uid,
            receipt.message_id,
            " (already taken)" if receipt.duplicate else "",
            **self._log,
        )
        if self._after_commit is not None:
            await self._after_commit(uid)
        try:
            await connection.move(uid, imap.processed_folder)
        except CommandFailed as exc:
            # Stored all the same: the checkpoint passes it, and the content hash keeps it single.
            logger.error("mailbox %s: UID %s stored but not moved: %s", name, uid, exc, **self._log)
        return True

    async def _advance(self, uid: int) -> None:
        self._position = Checkpoint(self._position.uidvalidity, uid)
        await store.save_checkpoint(
            self._db, mailbox_id=self.mailbox.id, folder=self.mailbox.imap.folder, at=self._position
        )
