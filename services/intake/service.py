"""Intake's use cases: take a raw message in, put what cannot be read in quarantine, resolve it.

Order matters: the raw bytes are in the blob store before anything is recorded, and the
record and its event commit together (outbox), so an answered message is never lost and
never announced twice.
"""

from __future__ import annotations

import asyncio
import hashlib
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
    Resolution,
    Summary,
    parse_message,
)
from services.intake.mailboxes import arrival as arrivals
from services.intake.mailboxes.arrival import Arrival
from services.intake.mailboxes.headers import envelope_addresses, header_block
from services.intake.mailboxes.policies import LoopPolicy
from services.intake.models import Message, Quarantine
from shared import metrics
from shared.blobs import BlobNotFound, BlobStore
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
            _apply_summary(message, outcome.summary)
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
        await arrivals.announce(uow, message, _received_event(message, outcome), arrival=arrival, loops=loops)
        return None
    return await _quarantine(
        uow, message, reason=outcome.reason, detail=outcome.detail, headers=outcome.summary.headers
    )


async def _quarantine(
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
            _apply_summary(message, outcome.summary)
            arrivals.place(message, arrival)
            await arrivals.announce(
                uow,
                message,
                _received_event(message, outcome),
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


async def record_article(
    uow: UnitOfWork, *, message_id: str, number: str, article_id: str, threaded_by: str | None, at: datetime
) -> None:
    """Note the case a message became; of two articles from one message the earlier one stands,
    whatever order they arrive in."""
    message = await repository.message(uow.session, message_id)
    if message is None:
        logger.warning("article %s names unknown message %s", article_id, message_id)
        return
    if message.article_added_at is not None and message.article_added_at <= at:
        return
    message.case_number = number
    message.article_id = article_id
    message.threaded_by = threaded_by
    message.article_added_at = at


async def record_rejection(
    uow: UnitOfWork, blobs: BlobStore, *, message_id: str, reason: str, action: str, detail: str
) -> None:
    """The cases service would not take a message: quarantine it for a person, or keep it as a
    dropped record. A message that became a case, or already waits or was given up, stays."""
    message = await repository.message(uow.session, message_id)
    if message is None:
        logger.warning("rejection names unknown message %s", message_id)
        return
    if message.case_number is not None or message.state != MessageState.RECEIVED:
        fate = f"case {message.case_number}" if message.case_number else message.state
        logger.info("rejection of message %s ignored: it is %s", message_id, fate)
        return
    if action == "drop":
        message.state = MessageState.DROPPED
        message.drop_reason = f"{reason}: {detail}" if detail else reason
        logger.info(
            "message %s dropped: %s", message_id, message.drop_reason, extra={"message_id": message_id}
        )
        return
    if action != "quarantine":
        raise ValueError(f"unknown action {action!r} for message {message_id}")
    # A reason outside the closed set fails here, so the event goes to the dead-letter queue
    # (visible, replayable) rather than the message into a quarantine nobody can explain.
    why = QuarantineReason(reason)
    entry = await _quarantine(
        uow, message, reason=why, detail=detail or why.value, headers=await _headers_of(blobs, message)
    )
    metrics.INTAKE_QUARANTINED.labels(entry.reason).inc()
    logger.warning("message %s quarantined: %s", message_id, why, extra={"message_id": message_id})


async def _headers_of(blobs: BlobStore, message: Message) -> tuple[tuple[str, str], ...]:
    """The header fields of the stored message, for the quarantine page; none if the bytes are gone."""
    try:
        raw = await blobs.get(message.raw_sha256)
    except (BlobNotFound, OSError):
        return ()
    return header_block(raw).display()
