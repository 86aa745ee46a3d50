"""PLACEHOLDER being replaced by the case-type work: completes new cases and checks changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.db import UnitOfWork

if TYPE_CHECKING:
    from services.cases.lifecycle import Registration
    from services.cases.models import Case


class ChangeRefused(ValueError):
    """A change the case type does not allow; ``missing`` names each field it needs."""

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []


async def complete(uow: UnitOfWork, case: Case, registration: Registration) -> None:
    case.status_category = case.status
    case.fields = dict(registration.values)


async def check_change(
    uow: UnitOfWork, case: Case, changes: Mapping[str, Any], *, origin: str
) -> dict[str, Any]:
    result = dict(changes)
    if "status" in result:
        result["status_category"] = result["status"]
    return result
