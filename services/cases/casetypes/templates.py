"""Use cases of templates ("maler"): configure them (admins), and register a case from one with
only the requester given, so that a phone case takes two or three keystrokes.

A template is checked against its case type when it is written (its fields exist and fit, no
priority where the type derives it, its queue and group exist); fields mandatory at creation
need not all be in it, since the agent may give them when using it. The case registered from a
template goes through the same registration, and the same gate, as any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository as cases_repository
from services.cases import service as cases_service
from services.cases.casetypes import service, values
from services.cases.casetypes.domain import Problem, invalid
from services.cases.casetypes.models import CaseTemplate
from services.cases.casetypes.service import Conflict, Invalid, NotFound
from services.cases.models import Case
from services.cases.settings import Settings
from shared.db import Database, UnitOfWork

__all__ = ["Conflict", "Invalid", "NotFound"]


async def template_row(session: AsyncSession, key: str) -> CaseTemplate | None:
    return await session.scalar(select(CaseTemplate).where(CaseTemplate.key == key))


async def list_templates(db: Database, *, type_: str | None, active: bool | None) -> list[CaseTemplate]:
    query = select(CaseTemplate).order_by(CaseTemplate.key)
    if type_ is not None:
        query = query.where(CaseTemplate.type == type_)
    if active is not None:
        query = query.where(CaseTemplate.active == active)
    async with db.sessions() as session:
        return list(await session.scalars(query))


async def get_template(db: Database, *, key: str) -> CaseTemplate:
    async with db.sessions() as session:
        row = await template_row(session, key)
    if row is None:
        raise NotFound(f"template {key!r} not found")
    return row


async def create_template(db: Database, *, settings: Settings, values_: dict[str, Any]) -> CaseTemplate:
    """A new template with a unique key that fits its case type."""
    async with db.uow() as uow:
        if await template_row(uow.session, values_["key"]) is not None:
            raise Conflict(f"template {values_['key']!r} exists")
        now = uow.now()
        row = CaseTemplate(id=str(db.ids()), created_at=now, updated_at=now, **values_)
        await _check(uow.session, settings, row)
        uow.session.add(row)
        await uow.commit()
    return row


async def update_template(
    db: Database, *, settings: Settings, key: str, changes: dict[str, Any]
) -> CaseTemplate:
    """Replace what is given; the result must still fit its case type."""
    async with db.uow() as uow:
        row = await template_row(uow.session, key)
        if row is None:
            raise NotFound(f"template {key!r} not found")
        for name, value in changes.items():
            setattr(row, name, value)
        await _check(uow.session, settings, row)
        row.updated_at = uow.now()
        await uow.commit()
    return row


async def _check(session: AsyncSession, settings: Settings, row: CaseTemplate) -> None:
    type_def = await service.load_type(session, row.type or settings.default_type)
    fields, problems = values.coerce_values(type_def, row.fields or {})
    fields, found = await service.check_references(session, type_def, fields)
    problems = [Problem(f"fields.{p.field}", p.message) for p in problems + found]
    if type_def.configured and not type_def.active:
        problems.append(Problem("type", f"case type {type_def.key!r} is not active"))
    if type_def.matrix is not None and row.priority is not None:
        problems.append(
            Problem("priority", f"case type {type_def.key!r} derives the priority: give impact and urgency")
        )
    if row.queue is not None and await cases_repository.queue_by_key(session, row.queue) is None:
        problems.append(Problem("queue", f"no queue {row.queue!r}"))
    if row.group is not None and await cases_repository.group_by_key(session, row.group) is None:
        problems.append(Problem("group", f"no group {row.group!r}"))
    if problems:
        raise Invalid(problems)
    row.fields = fields


async def case_from_template(
    uow: UnitOfWork,
    *,
    settings: Settings,
    key: str,
    requester_email: str,
    requester_name: str | None,
    fields: dict[str, Any],
    subject: str | None,
    body_text: str | None,
) -> Case:
    """A complete case from an active template and the requester; ``fields`` are merged over the
    template's (null removes one), ``subject`` and ``body_text`` replace the template's."""
    row = await template_row(uow.session, key)
    if row is None:
        raise NotFound(f"template {key!r} not found")
    problems = []
    if not row.active:
        problems.append(Problem("template", f"template {key!r} is not active"))
    if not (subject or row.subject):
        problems.append(Problem("subject", f"template {key!r} has no subject: give one"))
    if problems:
        raise invalid(problems)
    new = cases_service.NewCase(
        subject=subject or row.subject,
        requester_email=requester_email,
        requester_name=requester_name,
        body_text=row.body_text if body_text is None else body_text,
        channel=row.channel,
        queue=row.queue,
        type=row.type,
        priority=row.priority,
        group=row.group,
        fields={**row.fields, **fields},
        impact=row.impact,
        urgency=row.urgency,
        template=row.key,
    )
    return await cases_service.create_case(uow, settings=settings, new=new)
