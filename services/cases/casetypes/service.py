"""Use cases of case types: configure them (admins), read them and their forms, and what the gate
needs of the database: a case's type, and whether the users, customers and assets that field
values name exist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.casetypes import config
from services.cases.casetypes.domain import (
    FieldDef,
    FieldKind,
    Option,
    Problem,
    Stage,
    StatusDef,
    TypeDef,
    built_in,
)
from services.cases.casetypes.models import CaseType
from services.cases.customers.models import Asset
from services.cases.models import Case, Customer, User
from shared.db import Database


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    """A key that exists already (HTTP 409)."""


class Invalid(ValueError):
    """The configuration does not hold together; each problem names where and what (HTTP 422)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = list(problems)


def definition(row: CaseType) -> TypeDef:
    """The domain's view of a stored type."""
    return TypeDef(
        key=row.key,
        labels=dict(row.labels),
        department=row.department,
        active=row.active,
        fields=tuple(_field(f) for f in row.fields),
        statuses=tuple(StatusDef(s["key"], dict(s["labels"]), s["category"]) for s in row.statuses),
        transitions={k: tuple(v) for k, v in row.transitions.items()},
        matrix=row.priority_matrix,
        default_impact=row.default_impact,
        default_urgency=row.default_urgency,
        forms={k: tuple(v) for k, v in row.forms.items()},
    )


def _field(stored: Mapping[str, Any]) -> FieldDef:
    return FieldDef(
        key=stored["key"],
        labels=dict(stored["labels"]),
        kind=FieldKind(stored["kind"]),
        options=tuple(Option(o["key"], dict(o["labels"])) for o in stored.get("options") or []),
        mandatory_at=Stage(stored["mandatory_at"]) if stored.get("mandatory_at") else None,
    )


async def type_row(session: AsyncSession, key: str) -> CaseType | None:
    return await session.scalar(select(CaseType).where(CaseType.key == key))


async def load_type(session: AsyncSession, key: str) -> TypeDef:
    """The type of ``key``: its configuration, or the built-in type when it has none. Read once
    per unit of work (its session): registering or changing a case asks for it at each step, and
    a bulk update for every case."""
    known: dict[str, TypeDef] = session.info.setdefault("case_types", {})
    if key not in known:
        row = await type_row(session, key)
        known[key] = definition(row) if row is not None else built_in(key)
    return known[key]


async def check_references(
    session: AsyncSession, type_def: TypeDef, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """The values with each user named by id or email turned into the id of an active user; a
    problem for each user, customer or asset that does not exist."""
    resolved = dict(values)
    problems = []
    for key, value in values.items():
        definition_ = type_def.field(key)
        if definition_ is None or value is None:
            continue
        if definition_.kind is FieldKind.USER:
            user = await session.scalar(
                select(User).where(or_(User.id == value, User.email == str(value).strip().lower()))
            )
            if user is None or not user.active:
                problems.append(Problem(key, f"no active user {value!r}"))
            else:
                resolved[key] = user.id
        elif definition_.kind is FieldKind.CUSTOMER and await session.get(Customer, value) is None:
            problems.append(Problem(key, f"no customer {value!r}"))
        elif definition_.kind is FieldKind.ASSET and await session.get(Asset, value) is None:
            problems.append(Problem(key, f"no asset {value!r}"))
    return resolved, problems


async def list_types(db: Database, *, department: str | None, active: bool | None) -> list[CaseType]:
    query = select(CaseType).order_by(CaseType.department, CaseType.key)
    if department is not None:
        query = query.where(CaseType.department == department)
    if active is not None:
        query = query.where(CaseType.active == active)
    async with db.sessions() as session:
        return list(await session.scalars(query))


async def get_type(db: Database, *, key: str) -> CaseType:
    async with db.sessions() as session:
        row = await type_row(session, key)
    if row is None:
        raise NotFound(f"case type {key!r} not found")
    return row


async def form(db: Database, *, key: str, channel: str) -> list[FieldDef]:
    """The fields a channel's form shows, in order (every field where the type names no form)."""
    return definition(await get_type(db, key=key)).form(channel)


async def create_type(db: Database, *, values: dict[str, Any]) -> CaseType:
    """A new case type whose configuration holds together; its key is unique."""
    async with db.uow() as uow:
        if await type_row(uow.session, values["key"]) is not None:
            raise Conflict(f"case type {values['key']!r} exists")
        now = uow.now()
        row = CaseType(id=str(db.ids()), created_at=now, updated_at=now, **values)
        _check(row)
        uow.session.add(row)
        try:
            await uow.commit()
        except IntegrityError:
            raise Conflict(f"case type {values['key']!r} exists") from None
    return row


async def update_type(db: Database, *, key: str, changes: dict[str, Any]) -> CaseType:
    """Replace the parts given; the result must hold together, and no status that cases of the
    type hold may disappear or change category (their category would no longer be true)."""
    async with db.uow() as uow:
        row = await type_row(uow.session, key)
        if row is None:
            raise NotFound(f"case type {key!r} not found")
        before = {(s["key"], s["category"]) for s in row.statuses}
        for name, value in changes.items():
            setattr(row, name, value)
        _check(row)
        gone = before - {(s["key"], s["category"]) for s in row.statuses}
        await _check_statuses_unused(uow.session, key, {status for status, _ in gone})
        row.updated_at = uow.now()
        await uow.commit()
    return row


def _check(row: CaseType) -> None:
    found = config.problems(definition(row))
    if found:
        raise Invalid(found)


async def _check_statuses_unused(session: AsyncSession, key: str, statuses: set[str]) -> None:
    if not statuses:
        return
    rows = await session.execute(
        select(Case.status, func.count())
        .where(Case.type == key, Case.status.in_(sorted(statuses)))
        .group_by(Case.status)
    )
    held = [
        Problem(
            "statuses",
            f"{count} case(s) have status {status!r}: move them before removing it or changing its category",
        )
        for status, count in rows
    ]
    if held:
        raise Invalid(held)
