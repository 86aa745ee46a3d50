"""Use cases of users, groups and queues: who works cases, in which teams, owning which queues.

Each owns one unit of work. Changes are logged with the acting admin; they emit no events yet,
since no other service needs them (reporting learns queues from the cases' own events).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.cases import repository
from services.cases.domain.customers import normalise_address
from services.cases.models import Group, GroupMember, Queue, User
from shared.db import Database, UnitOfWork

logger = logging.getLogger(__name__)


class NotFound(LookupError):
    """No user or group with that id."""


@dataclass
class Rejected(Exception):
    """The request names something that does not fit: ``field`` of the body, and why."""

    field: str
    message: str
    value: Any = None


class Duplicate(Rejected):
    """A unique value (an email, a key, a membership) that exists already."""


@dataclass(frozen=True)
class UserView:
    user: User
    groups: list[str]


async def create_user(
    db: Database, *, actor: str | None, email: str, name: str, role: str, active: bool, available: bool
) -> UserView:
    """A new user with a unique email address (case-insensitive); they see nothing until they join
    a group that owns a queue, unless they are an admin."""
    address = normalise_address(email)
    async with db.uow() as uow:
        if await repository.user_by_email(uow.session, address) is not None:
            raise Duplicate("email", "a user with this email exists", address)
        now = uow.now()
        user = User(
            id=str(db.ids()),
            email=address,
            name=name.strip(),
            role=role,
            active=active,
            available=available,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(user)
        await _commit(uow, Duplicate("email", "a user with this email exists", address))
    logger.info("user %s (%s, %s) created by %s", user.id, address, role, actor)
    return UserView(user, [])


async def update_user(db: Database, *, actor: str | None, user_id: str, changes: dict[str, Any]) -> UserView:
    """Change a user's email, name, role, active or available; a role or active change is logged."""
    async with db.uow() as uow:
        user = await uow.session.get(User, user_id)
        if user is None:
            raise NotFound(user_id)
        if changes.get("email") is not None:
            changes["email"] = normalise_address(changes["email"])
            other = await repository.user_by_email(uow.session, changes["email"])
            if other is not None and other.id != user.id:
                raise Duplicate("email", "a user with this email exists", changes["email"])
        for field, value in changes.items():
            if value is not None:
                setattr(user, field, value.strip() if field == "name" else value)
        user.updated_at = uow.now()
        groups = (await repository.groups_of(uow.session, [user.id]))[user.id]
        await _commit(uow, Duplicate("email", "a user with this email exists", changes.get("email")))
    logger.info("user %s changed by %s: %s", user.id, actor, sorted(changes))
    return UserView(user, groups)


async def get_user(db: Database, *, user_id: str) -> UserView:
    async with db.sessions() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(user_id)
        return UserView(user, (await repository.groups_of(session, [user.id]))[user.id])


async def list_users(db: Database, *, after_email: str | None, limit: int) -> list[UserView]:
    async with db.sessions() as session:
        users = await repository.list_users(session, after_email=after_email, limit=limit)
        groups = await repository.groups_of(session, [u.id for u in users])
    return [UserView(u, groups[u.id]) for u in users]


async def create_group(db: Database, *, actor: str | None, key: str, name: str) -> Group:
    """A new group with a unique key."""
    async with db.uow() as uow:
        if await repository.group_by_key(uow.session, key) is not None:
            raise Duplicate("key", "a group with this key exists", key)
        group = Group(id=str(db.ids()), key=key, name=name.strip(), created_at=uow.now(), members=[])
        uow.session.add(group)
        await _commit(uow, Duplicate("key", "a group with this key exists", key))
    logger.info("group %s (%s) created by %s", group.id, key, actor)
    return group


async def list_groups(db: Database) -> Sequence[Group]:
    async with db.sessions() as session:
        return await repository.list_groups(session)


async def add_member(db: Database, *, actor: str | None, group_id: str, user_id: str) -> Group:
    """Put a user in a group: from now on they see the cases of the queues the group owns."""
    async with db.uow() as uow:
        if await uow.session.get(Group, group_id) is None:
            raise NotFound(group_id)
        if await uow.session.get(User, user_id) is None:
            raise Rejected("user_id", "no user with this id", user_id)
        if await repository.membership(uow.session, group_id, user_id) is not None:
            raise Duplicate("user_id", "the user is a member already", user_id)
        uow.session.add(GroupMember(group_id=group_id, user_id=user_id, created_at=uow.now()))
        await _commit(uow, Duplicate("user_id", "the user is a member already", user_id))
    logger.info("user %s added to group %s by %s", user_id, group_id, actor)
    return await _group(db, group_id)


async def remove_member(db: Database, *, actor: str | None, group_id: str, user_id: str) -> None:
    """Take a user out of a group: the group's queues are out of their sight at once."""
    async with db.uow() as uow:
        member = await repository.membership(uow.session, group_id, user_id)
        if member is None:
            raise NotFound(f"{group_id}/{user_id}")
        await uow.session.delete(member)
        await uow.commit()
    logger.info("user %s removed from group %s by %s", user_id, group_id, actor)


async def create_queue(
    db: Database,
    *,
    actor: str | None,
    key: str,
    name: str | None,
    group_id: str,
    sender_address: str | None,
    active: bool,
) -> Queue:
    """A queue owned by an existing group; its key is what cases store (an existing queue name
    takes its cases along: they become visible to the owning group)."""
    async with db.uow() as uow:
        if await repository.queue_by_key(uow.session, key) is not None:
            raise Duplicate("key", "a queue with this key exists", key)
        if await uow.session.get(Group, group_id) is None:
            raise Rejected("group_id", "no group with this id", group_id)
        queue = Queue(
            id=str(db.ids()),
            key=key,
            name=(name or key).strip(),
            group_id=group_id,
            sender_address=normalise_address(sender_address) if sender_address else None,
            active=active,
            created_at=uow.now(),
        )
        uow.session.add(queue)
        await _commit(uow, Duplicate("key", "a queue with this key exists", key))
    logger.info("queue %s (%s) owned by group %s created by %s", queue.id, key, group_id, actor)
    return queue


async def list_queues(db: Database) -> Sequence[Queue]:
    async with db.sessions() as session:
        return await repository.list_queues(session)


async def _group(db: Database, group_id: str) -> Group:
    async with db.sessions() as session:
        group = await repository.group_with_members(session, group_id)
    if group is None:
        raise NotFound(group_id)
    return group


async def _commit(uow: UnitOfWork, duplicate: Duplicate) -> None:
    """Commit; two admins creating the same thing at once collide on its unique key."""
    try:
        await uow.commit()
    except IntegrityError:
        raise duplicate from None
