"""One function per consumed event; the inbox opened the unit of work and commits it."""

from __future__ import annotations

from services.integration import service
from shared.db import UnitOfWork
from shared.events.base import Envelope


async def on_event(uow: UnitOfWork, envelope: Envelope) -> None:
    """Every event on the bus: plan a delivery to each webhook that wants it."""
    await service.plan_deliveries(uow, envelope=envelope)
