"""One function per consumed event; the inbox opened the unit of work and commits it."""

from __future__ import annotations

from services.notify import service
from services.notify.service import MailConfig
from shared.db import UnitOfWork
from shared.events.base import Envelope
from shared.events.cases import CaseCreated


async def on_case_created(
    uow: UnitOfWork, event: CaseCreated, envelope: Envelope, *, config: MailConfig
) -> None:
    await service.register_acknowledgement(uow, event=event, config=config)
