"""Writing the audit trail: called inside the unit of work of the change it records, so the
entry commits with the change or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.cases.models import Case
from services.cases.relations.models import AuditEntry
from shared.db import UnitOfWork


def record(
    uow: UnitOfWork,
    case: Case,
    *,
    action: str,
    origin: str,
    actor: str | None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
) -> None:
    """One entry on the trail of ``case``."""
    uow.session.add(
        AuditEntry(
            case_id=case.id,
            case=case,
            at=uow.now(),
            actor=actor,
            origin=origin,
            action=action,
            field=field,
            old=old,
            new=new,
        )
    )


def record_changes(
    uow: UnitOfWork, case: Case, diff: Mapping[str, Any], *, origin: str, actor: str | None
) -> None:
    """One ``field_changed`` entry per changed field; ``diff`` maps fields to old/new pairs."""
    for field, change in diff.items():
        record(
            uow,
            case,
            action="field_changed",
            origin=origin,
            actor=actor,
            field=field,
            old=change.old,
            new=change.new,
        )
