"""Intake's use cases: take a raw message in, put what cannot be read in quarantine, resolve it.

Order matters: the raw bytes are in the blob store before anything is recorded, and the
record and its event commit together (outbox), so an answered message is never lost and
never announced twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.intake import repository
from services.intake.domain import (
    Limits,
    MessageState,
    Parsed,
    QuarantineReason,
    Rejected,
    Resolution,
    Summary,
    parse_message,
)
from services.intake.models import Message, Quarantine
from shared import metrics
from shared.blobs import BlobNotFound, BlobStore
from shared.db import Database, UnitOfWork
from shared.events.intake import MessageQuarantined, MessageReceived

logger = logging.getLogger(__name__)

Parser = Callable[..., Parsed | Rejected]


class IntakeError(Exception):
    pass


class NotFound(IntakeError):
    pass


class AlreadyResolved(IntakeError):
    def __init__(self, resolution: str | None) -> None:
        super().__init__(f"already resolved: {resolution}")
        self.resolution = resolution


class StillQuarantined(IntakeError):
    def __init__(self, rejected: Rejected) -> None:
        super().__init__(f"{rejected.reason}: {rejected.detail}")
        self.reason = rejected.reason
        self.detail = rejected.detail


class RawUnavailable(IntakeError):
    pass


@dataclass(frozen=True)
class Receipt:
    message_id: str
    state: str
    duplicate: bool = False
    quarantine_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MessageView:
    message: Message
    quarantine: Quarantine | None


@dataclass(frozen=True)
class QuarantinePage:
    items: list[Quarantine]
    next_after: tuple[datetime, str] | None


async def parse_in_worker(
    raw: bytes, *, limits: Limits, timeout: float, parse: Parser | None = None
) -> Parsed | Rejected:
    """Parse off the event loop; a parse that runs past ``timeout`` is a quarantine reason."""
    parse = parse or parse_message
    try:
        return await asyncio.wait_for(asyncio.to_thread(parse, raw, limits=limits), timeout)
    except TimeoutError:
        # The thread cannot be stopped and finishes on its own; only the answer is abandoned.
        return Rejected(QuarantineReason.TIMEOUT, f"parsing took longer than {timeout:g}s")


async def receive_message(
    db: Database,
    blobs: BlobStore,
    *,
    raw: bytes,
    channel: str,
    limits: Limits,
    timeout: float,
    mailbox: str | None = None,
) -> Receipt:
    """Store the raw bytes, then record the message and announce it (or its quarantine) once.

    The same bytes again are a duplicate of the first message and announce nothing: the same
    bytes always carry the same Message-ID, so the content hash is the key.
    """
    digest = await blobs.put(raw)
    known = await _known(db, digest)
    if known:
        return known
    outcome = await parse_in_worker(raw, limits=limits, timeout=timeout)
    try:
        async with db.uow() as uow:
            message = _new_message(uow, digest=digest, size=len(raw), channel=channel, mailbox=mailbox)
            _apply_summary(message, outcome.summary)
            uow.session.add(message)
            await uow.session.flush()
            entry = await _record_outcome(uow, message, outcome)
            await uow.commit()
    except IntegrityError:
        # A concurrent post of the same bytes committed first; that one is the message.
        known = await _known(db, digest)
        if known is None:
            raise
        return known
    metrics.INTAKE_RECEIVED.labels(channel).inc()
    if entry is None:
        logger.info("message %s received", message.id, extra={"message_id": message.id, "channel": channel})
        return Receipt(message.id, message.state)
    metrics.INTAKE_QUARANTINED.labels(entry.reason).inc()
    await refresh_waiting(db)
    logger.warning(
        "message %s quarantined: %s",
        message.id,
        entry.reason,
        extra={"message_id": message.id, "channel": channel, "reason": entry.reason},
    )
    return Receipt(message.id, message.state, quarantine_id=entry.id, reason=entry.reason)


def _new_message(uow: UnitOfWork, *, digest: str, size: int, channel: str, mailbox: str | None) -> Message:
    return Message(
        id=str(uow.db.ids()),
        channel=channel,
        mailbox=mailbox,
        raw_sha256=digest,
        size=size,
        received_at=uow.now(),
        state=MessageState.RECEIVED,
    )


async def _record_outcome(uow: UnitOfWork, message: Message, outcome: Parsed | Rejected) -> Quarantine | None:
    if isinstance(outcome, Parsed):
        await uow.emit(_received_event(message, outcome))
        return None
    message.state = MessageState.QUARANTINED
    entry = Quarantine(
        id=str(uow.db.ids()),
        message_id=message.id,
        reason=outcome.reason,
        detail=outcome.detail,
        raw_sha256=message.raw_sha256,
        headers=[list(pair) for pair in outcome.summary.headers],
        created_at=uow.now(),
    )
    uow.session.add(entry)
    await uow.emit(
        MessageQuarantined(
            id=message.id,
            channel=message.channel,
            reason=entry.reason,
            detail=entry.detail,
            raw_sha256=message.raw_sha256,
            quarantined_at=entry.created_at,
        )
    )
    return entry


def _apply_summary(message: Message, summary: Summary) -> None:
    message.sender_email = summary.sender_email
    message.sender_name = summary.sender_name
    message.subject = summary.subject
    message.rfc_message_id = summary.message_id


def _received_event(message: Message, parsed: Parsed) -> MessageReceived:
    return MessageReceived(
        id=message.id,
        channel=message.channel,
        mailbox=message.mailbox,
        raw_sha256=message.raw_sha256,
        sender_email=parsed.sender.email,
        sender_name=parsed.sender.name,
        subject=parsed.subject,
        text_body=parsed.text_body,
        rfc_message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        to=parsed.to,
        cc=parsed.cc,
        auto_submitted=parsed.auto_submitted,
        received_at=message.received_at,
    )


async def _known(db: Database, digest: str) -> Receipt | None:
    async with db.sessions() as session:
        message = await repository.message_by_digest(session, digest)
        if message is None:
            return None
        entry = await repository.quarantine_of(session, message.id)
    return Receipt(
        message.id,
        message.state,
        duplicate=True,
        quarantine_id=entry.id if entry else None,
        reason=entry.reason if entry and entry.resolved_at is None else None,
    )


async def refresh_waiting(db: Database) -> int:
    """Count the unresolved quarantine and publish it as the waiting gauge."""
    async with db.sessions() as session:
        waiting = await repository.count_waiting(session)
    metrics.INTAKE_QUARANTINE_WAITING.set(waiting)
    return waiting


async def message_view(db: Database, *, message_id: str) -> MessageView:
    """What became of a stored message."""
    async with db.sessions() as session:
        message = await repository.message(session, message_id)
        if message is None:
            raise NotFound(f"no message {message_id}")
        return MessageView(message, await repository.quarantine_of(session, message_id))


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
    db: Database, blobs: BlobStore, *, quarantine_id: str, limits: Limits, timeout: float
) -> Quarantine:
    """Parse a quarantined message again; only a clean parse releases it, and only once."""
    entry = await quarantine_entry(db, quarantine_id=quarantine_id)
    if entry.resolved_at is not None:
        raise AlreadyResolved(entry.resolution)
    raw = await quarantined_raw(db, blobs, quarantine_id=quarantine_id)
    outcome = await parse_in_worker(raw, limits=limits, timeout=timeout)
    if isinstance(outcome, Rejected):
        raise StillQuarantined(outcome)
    async with db.uow() as uow:
        # The conditional update makes two concurrent retries announce the message once.
        done = await repository.resolve(
            uow.session, quarantine_id, resolution=Resolution.RETRIED, at=uow.now()
        )
        if done:
            message = await repository.message(uow.session, entry.message_id)
            assert message is not None  # the foreign key holds it
            message.state = MessageState.RECEIVED
            _apply_summary(message, outcome.summary)
            await uow.emit(_received_event(message, outcome))
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
