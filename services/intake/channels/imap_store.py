"""What the IMAP channel keeps in intake's database: which mailboxes to poll, how far each
folder is taken (checkpoint), and who polls a mailbox now (lease).

The lease is one row per mailbox taken and renewed by a conditional UPDATE, which is atomic
on SQLite and PostgreSQL alike: of two replicas, the one whose UPDATE matched holds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from services.intake.mailboxes.schemas import ImapSettings
from services.intake.models import ImapCheckpoint, ImapLease, Mailbox
from shared.db import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapMailbox:
    """An active IMAP mailbox as a poller needs it; ``version`` changes with every edit."""

    id: str
    name: str
    address: str
    imap: ImapSettings
    secret: str = field(repr=False)
    version: datetime


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


async def imap_mailboxes(db: Database) -> list[ImapMailbox]:
    """Active mailboxes of channel imap with usable settings; a broken one is logged and left out."""
    async with db.sessions() as session:
        rows = list(
            await session.scalars(
                select(Mailbox)
                .where(Mailbox.active.is_(True), Mailbox.channel == "imap")
                .order_by(Mailbox.name)
            )
        )
    found = []
    for row in rows:
        try:
            imap = ImapSettings.model_validate(row.imap)
        except ValidationError as exc:
            logger.error("mailbox %s: unusable IMAP settings, not polled: %s", row.name, exc)
            continue
        if not row.secret or not row.addresses:
            logger.error("mailbox %s: no secret or no address, not polled", row.name)
            continue
        found.append(
            ImapMailbox(
                id=row.id,
                name=row.name,
                address=row.addresses[0],
                imap=imap,
                secret=row.secret,
                version=row.updated_at,
            )
        )
    return found


async def checkpoint(db: Database, *, mailbox_id: str, folder: str) -> Checkpoint | None:
    async with db.sessions() as session:
        row = await session.get(ImapCheckpoint, (mailbox_id, folder))
    return Checkpoint(row.uidvalidity, row.last_uid) if row else None


async def save_checkpoint(db: Database, *, mailbox_id: str, folder: str, at: Checkpoint) -> None:
    """Record that every UID up to ``at.last_uid`` of ``at.uidvalidity`` is stored."""
    async with db.uow() as uow:
        row = await uow.session.get(ImapCheckpoint, (mailbox_id, folder))
        if row is None:
            row = ImapCheckpoint(mailbox_id=mailbox_id, folder=folder)
            uow.session.add(row)
        row.uidvalidity = at.uidvalidity
        row.last_uid = at.last_uid
        row.updated_at = uow.now()
        await uow.commit(notify=False)


async def take_lease(db: Database, *, mailbox_id: str, holder: str, seconds: float) -> bool:
    """Take or renew the mailbox's lease for ``seconds``: True unless another holder's is still valid."""
    async with db.uow() as uow:
        now = uow.now()
        expires_at = now + timedelta(seconds=seconds)
        result = await uow.session.execute(
            update(ImapLease)
            .where(
                ImapLease.mailbox_id == mailbox_id,
                or_(ImapLease.holder == holder, ImapLease.holder.is_(None), ImapLease.expires_at < now),
            )
            .values(holder=holder, expires_at=expires_at)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            if await uow.session.get(ImapLease, mailbox_id) is not None:
                return False
            uow.session.add(ImapLease(mailbox_id=mailbox_id, holder=holder, expires_at=expires_at))
        try:
            await uow.commit(notify=False)
        except IntegrityError:
            return False  # another replica created the row first; it holds the lease
    return True


async def release_lease(db: Database, *, mailbox_id: str, holder: str) -> None:
    """Give the lease up at once, so that another replica need not wait for it to expire."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(ImapLease)
            .where(ImapLease.mailbox_id == mailbox_id, ImapLease.holder == holder)
            .values(holder=None, expires_at=uow.now())
        )
        await uow.commit(notify=False)


async def lease_holder(db: Database, *, mailbox_id: str) -> str | None:
    """Who holds the mailbox's lease now (None when nobody does or it has expired)."""
    async with db.sessions() as session:
        row = await session.get(ImapLease, mailbox_id)
    if row is None or row.holder is None or row.expires_at <= db.clock():
        return None
    return row.holder
