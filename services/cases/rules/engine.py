"""PLACEHOLDER being replaced by the routing work: ordered routing rules on new cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.db import UnitOfWork

if TYPE_CHECKING:
    from services.cases.lifecycle import Registration
    from services.cases.models import Case


async def route(uow: UnitOfWork, case: Case, registration: Registration) -> None:
    return None
