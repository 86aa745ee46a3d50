"""Event handlers of the cases service: thin, inside the unit of work the inbox opened."""

from __future__ import annotations

from services.cases import service
from services.cases.settings import Settings
from shared.db import UnitOfWork
from shared.events.base import Envelope
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent


def make_handlers(settings: Settings):  # type: ignore[no-untyped-def]
    async def on_message_received(uow: UnitOfWork, event: MessageReceived, envelope: Envelope) -> None:
        await service.register_mail(uow, settings=settings, mail=event)

    async def on_mail_sent(uow: UnitOfWork, event: MailSent, envelope: Envelope) -> None:
        await service.record_sent_mail(uow, mail=event)

    return on_message_received, on_mail_sent
