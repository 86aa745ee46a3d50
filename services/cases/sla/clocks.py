"""PLACEHOLDER being replaced by the SLA work: due times on the case, kept as it changes."""

from __future__ import annotations

from collections.abc import Mapping

from services.cases.models import Article, Case
from shared.db import UnitOfWork
from shared.events.cases import FieldChange


async def start(uow: UnitOfWork, case: Case) -> None:
    return None


async def case_changed(uow: UnitOfWork, case: Case, diff: Mapping[str, FieldChange]) -> None:
    return None


async def article_added(uow: UnitOfWork, case: Case, article: Article) -> None:
    return None
