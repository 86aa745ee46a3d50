"""The IMAP channel: one poller per active IMAP mailbox, kept in step with the mailbox table.

The manager runs as a worker of the intake service. Every ``imap_refresh_seconds`` it reads
the active mailboxes of channel imap and starts a poller for a new one, stops the poller of
one that was deactivated or removed, and restarts the poller of one that was edited (its
``updated_at`` is the configuration's version). Each replica of intake runs a manager; the
per-mailbox lease lets only one of them poll a mailbox at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from services.intake.channels import imap_store as store
from services.intake.channels.imap_poller import MailboxPoller
from services.intake.channels.imap_store import ImapMailbox
from services.intake.settings import Settings
from shared.app import ServiceContext, Worker
from shared.blobs import BlobStore
from shared.db import Database

logger = logging.getLogger(__name__)


class ImapManager:
    """Starts and stops the pollers of this process."""

    def __init__(self, *, db: Database, blobs: BlobStore, settings: Settings, holder: str) -> None:
        self.holder = holder
        self._db = db
        self._blobs = blobs
        self._settings = settings
        self._pollers: dict[str, tuple[MailboxPoller, asyncio.Task[None]]] = {}

    @property
    def states(self) -> dict[str, str]:
        """Mailbox id to what its poller here does now (``MailboxPoller.state``)."""
        return {mailbox_id: poller.state for mailbox_id, (poller, _) in self._pollers.items()}

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.refresh()
                except Exception as exc:
                    # The pollers keep going; the mailbox table is read again next round.
                    logger.warning("IMAP mailboxes not read: %s", exc)
                await asyncio.sleep(self._settings.imap_refresh_seconds)
        finally:
            await self.stop_all()

    async def refresh(self) -> None:
        """Match the pollers to the active IMAP mailboxes."""
        wanted = {mailbox.id: mailbox for mailbox in await store.imap_mailboxes(self._db)}
        for mailbox_id, (poller, task) in list(self._pollers.items()):
            current = wanted.get(mailbox_id)
            if current is None or current.version != poller.mailbox.version or task.done():
                await self._stop(mailbox_id)
        for mailbox_id, mailbox in wanted.items():
            if mailbox_id not in self._pollers:
                self._start(mailbox)

    def _start(self, mailbox: ImapMailbox) -> None:
        poller = MailboxPoller(
            mailbox, db=self._db, blobs=self._blobs, settings=self._settings, holder=self.holder
        )
        task = asyncio.create_task(poller.run(), name=f"intake.imap.{mailbox.name}")
        self._pollers[mailbox.id] = (poller, task)
        logger.info("mailbox %s: poller started", mailbox.name, extra={"mailbox_id": mailbox.id})

    async def _stop(self, mailbox_id: str) -> None:
        poller, task = self._pollers.pop(mailbox_id)
        mailbox = poller.mailbox
        if task.done() and not task.cancelled() and task.exception() is not None:
            logger.error(
                "mailbox %s: poller failed; starting it again",
                mailbox.name,
                exc_info=task.exception(),
                extra={"mailbox_id": mailbox.id},
            )
        task.cancel()
        await asyncio.wait({task})
        logger.info("mailbox %s: poller stopped", mailbox.name, extra={"mailbox_id": mailbox.id})

    async def stop_all(self) -> None:
        for mailbox_id in list(self._pollers):
            await self._stop(mailbox_id)


def holder_name(unique: object) -> str:
    """Names this process in lease rows, so that an operator can tell the replicas apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{unique}"[:200]


def worker(ctx: ServiceContext, settings: Settings) -> Worker:
    """The intake worker that runs the IMAP pollers; the manager is ``ctx.state["imap"]``."""
    manager = ImapManager(db=ctx.db, blobs=ctx.blobs, settings=settings, holder=holder_name(ctx.db.ids()))
    ctx.state["imap"] = manager
    return manager.run
