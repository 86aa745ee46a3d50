"""What became of a message: the case and article it became (told by the cases service), or
the cases service's refusal, which puts it in quarantine or keeps it as a dropped record."""

from __future__ import annotations

import logging
from datetime import datetime

from services.intake import repository
from services.intake.domain import MessageState, QuarantineReason
from services.intake.mailboxes.headers import header_block
from services.intake.models import Message
from services.intake.service import MessageView, NotFound, quarantine_message
from shared import metrics
from shared.blobs import BlobNotFound, BlobStore
from shared.db import Database, UnitOfWork

logger = logging.getLogger(__name__)


async def message_view(db: Database, *, message_id: str) -> MessageView:
    """What became of a stored message."""
    async with db.sessions() as session:
        message = await repository.message(session, message_id)
        if message is None:
            raise NotFound(f"no message {message_id}")
        return MessageView(message, await repository.quarantine_of(session, message_id))


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
    entry = await quarantine_message(
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
