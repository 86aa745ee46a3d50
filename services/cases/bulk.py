"""Bulk update: the same change of several cases, through the one gate, all or nothing."""

from __future__ import annotations

from typing import Any

from services.cases import repository
from services.cases.casetypes.gate import ChangeRefused
from services.cases.domain.access import Access
from services.cases.models import Case
from services.cases.service import CaseNotFound, change_case
from shared.db import UnitOfWork


class CasesNotFound(CaseNotFound):
    """Cases of a bulk update that do not exist or that the caller does not see (the same)."""

    def __init__(self, numbers: list[int]) -> None:
        super().__init__(numbers)
        self.numbers = numbers


class BulkRefused(ValueError):
    """The case type refused the change of some cases of a bulk update: nothing was changed."""

    def __init__(self, refused: dict[int, ChangeRefused]) -> None:
        super().__init__(f"{len(refused)} case(s) refused")
        self.refused = refused


async def bulk_update(
    uow: UnitOfWork,
    *,
    access: Access,
    numbers: list[int],
    changes: dict[str, Any],
    origin: str,
    actor: str | None,
) -> list[Case]:
    """The same change of several cases the caller sees, all or nothing: a case that is missing
    or hidden (``CasesNotFound``) or that the case type refuses (``BulkRefused``, naming what each
    case lacks) leaves every case as it was, since the caller's unit of work is not committed."""
    cases = [await repository.visible_case(uow.session, number, access) for number in numbers]
    missing = [number for number, case in zip(numbers, cases, strict=True) if case is None]
    if missing:
        raise CasesNotFound(missing)
    refused: dict[int, ChangeRefused] = {}
    for case in cases:
        assert case is not None
        try:
            await change_case(uow, case, dict(changes), origin=origin, actor=actor)
        except ChangeRefused as exc:
            refused[case.number] = exc
    if refused:
        raise BulkRefused(refused)
    return [case for case in cases if case is not None]
