"""One function per consumed event; the inbox opened the unit of work and commits it."""

from __future__ import annotations

from services.reporting import service
from shared.db import UnitOfWork
from shared.events.base import Envelope
from shared.events.cases import CaseCreated, CaseUpdated


async def on_case_created(uow: UnitOfWork, event: CaseCreated, envelope: Envelope) -> None:
    await service.record_case_created(uow, event=event, envelope=envelope)


async def on_case_updated(uow: UnitOfWork, event: CaseUpdated, envelope: Envelope) -> None:
    await service.record_case_updated(uow, event=event, envelope=envelope)
