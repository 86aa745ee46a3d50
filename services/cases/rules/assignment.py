"""PLACEHOLDER being replaced by the routing work: round-robin / least-open assignment."""

from __future__ import annotations

from services.cases.models import Case
from shared.db import UnitOfWork


async def assign(uow: UnitOfWork, case: Case) -> None:
    return None
