"""Intake's use cases: take a raw message in, put what cannot be read in quarantine, resolve it.

Order matters: the raw bytes are in the blob store before anything is recorded, and the
record and its event commit together (outbox), so an answered message is never lost and
never announced twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.intake import repository
from services.intake.domain import (
    Limits,
    MessageState,
    Parsed,
    Part,
    QuarantineReason,
    Rejected,
    Summary,
    parse_message,
)
from services.intake.mailboxes import arrival as arrivals
from services.intake.mailboxes.arrival import Arrival
from services.intake.mailboxes.headers import envelope_addresses
from services.intake.mailboxes.policies import LoopPolicy
from services.intake.models import Message, Quarantine
from shared import metrics
from shared.blobs import BlobStore
from shared.db import Database, UnitOfWork
from shared.events.intake import Attachment, MessageQuarantined, MessageReceived

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
    envelope: Sequence[str] = (),
    mailbox_id: str | None = None,
    loops: LoopPolicy | None = None,
) -> Receipt:
    """Store the raw bytes, then record the message and announce it (or its quarantine) once.

    The same bytes again are a duplicate of the first message and announce nothing: the same
    bytes always carry the same Message-ID, so the content hash is the key. What the channel
    knows of the recipient (``mailbox_id``, ``mailbox`` as one of its addresses, the
    ``envelope`` recipients) routes before the headers do.
    """
    digest = await blobs.put(raw)
    known = await _known(db, digest)
    if known:
        return known
    outcome = await parse_in_worker(raw, limits=limits, timeout=timeout)
    await store_parts(blobs, outcome)
    named = envelope_addresses([*([mailbox] if mailbox else []), *envelope])
    arrival = await arrivals.arrive(
        db,
        raw=raw,
        parsed=outcome if isinstance(outcome, Parsed) else None,
        mailbox_id=mailbox_id,
        envelope=named,
    )
    try:
        async with db.uow() as uow:
            message = _new_message(uow, digest=digest, size=len(raw), channel=channel, mailbox=mailbox)
            message.envelope = list(named) or None
            arrivals.place(message, arrival)
            apply_summary(message, outcome.summary)
            uow.session.add(message)
            await uow.session.flush()
            entry = await _record_outcome(uow, message, outcome, arrival, loops or LoopPolicy())
            await uow.commit()
    except IntegrityError:
        # A concurrent post of the same bytes committed first; that one is the message.
        known = await _known(db, digest)
        if known is None:
            raise
        return known
    metrics.INTAKE_RECEIVED.labels(channel).inc()
    if entry is None:
        logger.info(
            "message %s %s",
            message.id,
            message.state,
            extra={"message_id": message.id, "channel": channel, "mailbox": message.mailbox},
        )
        return Receipt(message.id, message.state, reason=message.drop_reason)
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


async def _record_outcome(
    uow: UnitOfWork, message: Message, outcome: Parsed | Rejected, arrival: Arrival, loops: LoopPolicy
) -> Quarantine | None:
    if isinstance(outcome, Parsed):
        await arrivals.announce(uow, message, received_event(message, outcome), arrival=arrival, loops=loops)
        return None
    return await quarantine_message(
        uow, message, reason=outcome.reason, detail=outcome.detail, headers=outcome.summary.headers
    )


async def quarantine_message(
    uow: UnitOfWork, message: Message, *, reason: str, detail: str, headers: Sequence[tuple[str, str]]
) -> Quarantine:
    """Put the message in quarantine; one that was there before (and released) waits again."""
    entry = await repository.quarantine_of(uow.session, message.id)
    if entry is None:
        entry = Quarantine(id=str(uow.db.ids()), message_id=message.id, raw_sha256=message.raw_sha256)
        uow.session.add(entry)
    entry.reason = reason
    entry.detail = detail
    entry.headers = [list(pair) for pair in headers]
    entry.created_at = uow.now()
    entry.resolved_at = None
    entry.resolution = None
    message.state = MessageState.QUARANTINED
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


def apply_summary(message: Message, summary: Summary) -> None:
    message.sender_email = summary.sender_email
    message.sender_name = summary.sender_name
    message.subject = summary.subject
    message.rfc_message_id = summary.message_id


def received_event(message: Message, parsed: Parsed) -> MessageReceived:
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
        auto_reason=parsed.auto_reason,
        html_sha256=parsed.html_sha256,
        reply_text=parsed.reply_text,
        forwarded_text=parsed.forwarded_text,
        attachments=[_attachment(part) for part in parsed.parts],
        bounce=parsed.bounce,
    )


def _attachment(part: Part) -> Attachment:
    return Attachment(
        sha256=part.sha256,
        filename=part.filename,
        content_type=part.content_type,
        size=part.size,
        disposition=part.disposition,
        content_id=part.content_id,
        kind=part.kind,
    )


async def store_parts(blobs: BlobStore, outcome: Parsed | Rejected) -> None:
    """Put the kept parts and the sanitised HTML in the blob store before the event names them.

    The event carries only their hashes; storing first means a consumer never gets a hash
    that is not there yet. A store that names blobs otherwise than by sha256 would break the
    HTML's links to inline images, so a mismatch fails the message (it is retried, not lost).
    """
    if not isinstance(outcome, Parsed):
        return
    pieces = [part.data for part in outcome.parts]
    expected = [part.sha256 for part in outcome.parts]
    if outcome.html is not None and outcome.html_sha256 is not None:
        pieces.append(outcome.html)
        expected.append(outcome.html_sha256)
    stored = await asyncio.gather(*(blobs.put(piece) for piece in pieces))
    if list(stored) != expected:
        raise RuntimeError("the blob store named a part otherwise than by its sha256")


async def _known(db: Database, digest: str) -> Receipt | None:
    async with db.sessions() as session:
        message = await repository.message_by_digest(session, digest)
        if message is None:
            return None
        entry = await repository.quarantine_of(session, message.id)
    waiting = entry is not None and entry.resolved_at is None
    return Receipt(
        message.id,
        message.state,
        duplicate=True,
        quarantine_id=entry.id if entry else None,
        reason=entry.reason if entry and waiting else message.drop_reason,
    )


async def refresh_waiting(db: Database) -> int:
    """Count the unresolved quarantine and publish it as the waiting gauge."""
    async with db.sessions() as session:
        waiting = await repository.count_waiting(session)
    metrics.INTAKE_QUARANTINE_WAITING.set(waiting)
    return waiting
