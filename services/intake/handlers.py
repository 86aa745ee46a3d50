"""Intake's consumers: what the cases service made of a message, recorded on the message."""

from __future__ import annotations

from services.intake import fate
from shared.blobs import BlobStore
from shared.db import UnitOfWork
from shared.events import Envelope
from shared.events.cases import ArticleAdded, MailRejected
from shared.inbox import EventHandler


async def on_article_added(uow: UnitOfWork, event: ArticleAdded, envelope: Envelope) -> None:
    if event.intake_message_id is None:
        return  # a reply, a note or a portal article: not one of ours
    await fate.record_article(
        uow,
        message_id=event.intake_message_id,
        number=event.number,
        article_id=event.article_id,
        threaded_by=event.threaded_by,
        at=event.created_at,
    )


def on_mail_rejected(blobs: BlobStore) -> EventHandler:
    """The handler of cases.mail_rejected.v1; it reads the stored headers for the quarantine page."""

    async def handle(uow: UnitOfWork, event: MailRejected, envelope: Envelope) -> None:
        await fate.record_rejection(
            uow,
            blobs,
            message_id=event.intake_message_id,
            reason=event.reason,
            action=event.action,
            detail=event.detail,
        )

    return handle
