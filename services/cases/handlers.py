"""Event handlers of the cases service: thin, inside the unit of work the inbox opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeAlias

from services.cases import mail
from services.cases.settings import Settings
from shared.db import UnitOfWork
from shared.events.base import Envelope
from shared.events.intake import MessageReceived
from shared.events.notify import MailSent

Handler: TypeAlias = Callable[[UnitOfWork, MessageReceived, Envelope], Awaitable[None]]
SentHandler: TypeAlias = Callable[[UnitOfWork, MailSent, Envelope], Awaitable[None]]


def make_handlers(settings: Settings) -> tuple[Handler, SentHandler]:
    async def on_message_received(uow: UnitOfWork, event: MessageReceived, envelope: Envelope) -> None:
        await mail.register_mail(uow, settings=settings, mail=event)

    async def on_mail_sent(uow: UnitOfWork, event: MailSent, envelope: Envelope) -> None:
        await mail.record_sent_mail(uow, mail=event)

    return on_message_received, on_mail_sent
