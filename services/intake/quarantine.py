"""Quarantine: what waits for a person, the raw bytes exactly as they came, retry and discard."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from services.intake import repository
from services.intake.domain import Limits, MessageState, QuarantineReason, Rejected, Resolution
from services.intake.mailboxes import arrival as arrivals
from services.intake.mailboxes.policies import LoopPolicy
from services.intake.models import Quarantine
from services.intake.service import (
    AlreadyResolved,
    NotFound,
    QuarantinePage,
    RawUnavailable,
    StillQuarantined,
    apply_summary,
    parse_in_worker,
    received_event,
    refresh_waiting,
    store_parts,
)
from shared.blobs import BlobNotFound, BlobStore
from shared.db import Database

logger = logging.getLogger(__name__)


async def quarantine_page(
    db: Database, *, after: tuple[datetime, str] | None, limit: int, waiting: bool | None
) -> QuarantinePage:
    """Quarantine newest first, a page at a time."""
    async with db.sessions() as session:
        rows = await repository.quarantine_page(session, after=after, limit=limit + 1, waiting=waiting)
    items = rows[:limit]
    more = len(rows) > limit
    return QuarantinePage(items, (items[-1].created_at, items[-1].id) if more else None)


async def quarantine_entry(db: Database, *, quarantine_id: str) -> Quarantine:
    async with db.sessions() as session:
        entry = await repository.quarantine(session, quarantine_id)
    if entry is None:
        raise NotFound(f"no quarantine entry {quarantine_id}")
    return entry


async def quarantined_raw(db: Database, blobs: BlobStore, *, quarantine_id: str) -> bytes:
    """The raw message exactly as it arrived; bytes that do not match their hash are never served."""
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    try:
        data = await blobs.get(entry.raw_sha256)
    except BlobNotFound:
        raise RawUnavailable(f"raw message {entry.raw_sha256} is missing from the blob store") from None
    except OSError as exc:
        raise RawUnavailable(str(exc)) from None
    if hashlib.sha256(data).hexdigest() != entry.raw_sha256:
        raise RawUnavailable(f"raw message {entry.raw_sha256} does not match its hash")
    return data


async def retry_quarantined(
    db: Database,
    blobs: BlobStore,
    *,
    quarantine_id: str,
    limits: Limits,
    timeout: float,
    loops: LoopPolicy | None = None,
) -> Quarantine:
    """Parse a quarantined message again; only a clean parse releases it, and only once.

    Released, it takes the path of a new arrival: routing, loop rules, the mailbox's policies
    (a mailbox that drops automatic mail may drop it now). Releasing an unknown sender is a
    person's decision to take their mail: the cases service is told to make them a customer.
    """
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    if entry.resolved_at is not None:
        raise AlreadyResolved(entry.resolution)
    raw = await quarantined_raw(db, blobs, quarantine_id=quarantine_id)
    outcome = await parse_in_worker(raw, limits=limits, timeout=timeout)
    if isinstance(outcome, Rejected):
        raise StillQuarantined(outcome)
    await store_parts(blobs, outcome)
    async with db.sessions() as session:
        stored = await repository.message(session, entry.message_id)
    assert stored is not None  # the foreign key holds it
    arrival = await arrivals.arrive(
        db, raw=raw, parsed=outcome, mailbox_id=stored.mailbox_id, envelope=stored.envelope or ()
    )
    async with db.uow() as uow:
        # The conditional update makes two concurrent retries announce the message once.
        done = await repository.resolve(
            uow.session, quarantine_id, resolution=Resolution.RETRIED, at=uow.now()
        )
        if done:
            message = await repository.message(uow.session, entry.message_id)
            assert message is not None  # the foreign key holds it
            message.state = MessageState.RECEIVED
            apply_summary(message, outcome.summary)
            arrivals.place(message, arrival)
            await arrivals.announce(
                uow,
                message,
                received_event(message, outcome),
                arrival=arrival,
                loops=loops or LoopPolicy(),
                create_customer=True if entry.reason == QuarantineReason.UNKNOWN_SENDER else None,
            )
            await uow.commit()
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    if not done:
        raise AlreadyResolved(entry.resolution)
    await refresh_waiting(db)
    logger.info(
        "quarantined message %s released by retry", entry.message_id, extra={"message_id": entry.message_id}
    )
    return entry


async def discard_quarantined(db: Database, *, quarantine_id: str) -> Quarantine:
    """Give up on a quarantined message; the record and the raw bytes stay."""
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    async with db.uow() as uow:
        done = await repository.resolve(
            uow.session, quarantine_id, resolution=Resolution.DISCARDED, at=uow.now()
        )
        if done:
            message = await repository.message(uow.session, entry.message_id)
            assert message is not None  # the foreign key holds it
            message.state = MessageState.DISCARDED
            await uow.commit()
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    if not done:
        raise AlreadyResolved(entry.resolution)
    await refresh_waiting(db)
    logger.info("quarantined message %s discarded", entry.message_id, extra={"message_id": entry.message_id})
    return entry
