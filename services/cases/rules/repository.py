"""Queries of routing and assignment."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.casetypes.models import CaseType
from services.cases.domain.statuses import Status
from services.cases.models import Case, Group, GroupMember, Organisation, Queue, User
from services.cases.rules import domain, turns
from services.cases.rules.models import GroupAssignment, RoutingRule

# Categories of cases that no longer count as an agent's open work.
DONE = (Status.RESOLVED.value, Status.CLOSED.value)


async def rules(session: AsyncSession, *, include_inactive: bool = False) -> list[RoutingRule]:
    """The rules in the order they run (position, then creation)."""
    query = select(RoutingRule).order_by(RoutingRule.position, RoutingRule.created_at, RoutingRule.id)
    if not include_inactive:
        query = query.where(RoutingRule.active.is_(True))
    return list(await session.scalars(query))


def as_rule(row: RoutingRule) -> domain.Rule:
    return domain.Rule(
        id=row.id,
        name=row.name,
        conditions=domain.conditions_from(row.conditions),
        actions=row.actions,
        stop=row.stop,
    )


async def last_position(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(RoutingRule.position)))


async def queue_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, bool]:
    """The given queue keys that exist, each with whether the queue is active."""
    rows = await session.execute(select(Queue.key, Queue.active).where(Queue.key.in_(keys)))
    return {row.key: row.active for row in rows}


async def group_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    return set(await session.scalars(select(Group.key).where(Group.key.in_(keys))))


async def organisation_ids(session: AsyncSession, ids: Sequence[str]) -> set[str]:
    return set(await session.scalars(select(Organisation.id).where(Organisation.id.in_(ids))))


async def case_type_active(session: AsyncSession, key: str) -> bool | None:
    """Whether the configured case type is active; None when no type has this key."""
    return await session.scalar(select(CaseType.active).where(CaseType.key == key))


async def active_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email, User.active.is_(True)))


async def assigning_group(session: AsyncSession, *, group_key: str | None, queue_key: str) -> Group | None:
    """The group named on the case, or else the group owning its queue."""
    if group_key:
        return await session.scalar(select(Group).where(Group.key == group_key))
    return await session.scalar(
        select(Group).join(Queue, Queue.group_id == Group.id).where(Queue.key == queue_key)
    )


async def assignment(session: AsyncSession, group_id: str, *, lock: bool = False) -> GroupAssignment | None:
    """The group's assignment row; ``lock`` holds it until commit (``FOR UPDATE``; SQLite has
    one writer at a time anyway), so two registrations in the group take turns one by one."""
    query = select(GroupAssignment).where(GroupAssignment.group_id == group_id)
    if lock:
        # populate_existing: what we read under the lock wins over anything the session holds.
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def members(session: AsyncSession, group_id: str) -> list[turns.Member]:
    rows = await session.execute(
        select(User.id, User.email, User.active, User.available)
        .join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group_id)
    )
    return [turns.Member(row.id, row.email, row.active, row.available) for row in rows]


async def user_email(session: AsyncSession, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    return await session.scalar(select(User.email).where(User.id == user_id))


async def open_cases(session: AsyncSession, emails: Sequence[str]) -> dict[str, int]:
    """How many cases not resolved or closed each of these assignees has."""
    if not emails:
        return {}
    rows = await session.execute(
        select(Case.assignee, func.count())
        .where(Case.assignee.in_(emails), Case.status_category.not_in(DONE))
        .group_by(Case.assignee)
    )
    return {assignee: int(count) for assignee, count in rows if assignee is not None}
