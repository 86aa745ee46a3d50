"""Routes of users, groups and queues. Admins (and internal calls) change them; any user this
service knows may read them (agents pick colleagues and queues when they hand a case on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError

from services.cases import directory
from services.cases.access import Viewer, require_admin, require_known
from services.cases.models import Group, Queue
from services.cases.schemas import (
    GroupCreate,
    GroupList,
    GroupRead,
    MemberAdd,
    QueueCreate,
    QueueList,
    QueueRead,
    UserCreate,
    UserList,
    UserRead,
    UserUpdate,
)
from shared.app import Ctx

router = APIRouter(prefix="/api/v1", tags=["users"])


def user_read(view: directory.UserView) -> UserRead:
    user = view.user
    return UserRead(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        available=user.available,
        groups=view.groups,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def group_read(group: Group) -> GroupRead:
    return GroupRead(
        id=group.id,
        key=group.key,
        name=group.name,
        members=[m.user_id for m in group.members],
        created_at=group.created_at,
    )


def queue_read(queue: Queue) -> QueueRead:
    return QueueRead.model_validate(queue, from_attributes=True)


def rejected(exc: directory.Rejected) -> Exception:
    """A conflict is 409; anything else the body names wrongly is 422, shaped like FastAPI's own."""
    if isinstance(exc, directory.Duplicate):
        return HTTPException(status.HTTP_409_CONFLICT, f"{exc.field}: {exc.message}")
    error = {"type": "value_error", "loc": ("body", exc.field), "msg": exc.message, "input": exc.value}
    return RequestValidationError([error])


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, ctx: Ctx, access: Viewer) -> UserRead:
    require_admin(access)
    try:
        view = await directory.create_user(ctx.db, actor=access.subject, **body.model_dump())
    except directory.Rejected as exc:
        raise rejected(exc) from None
    return user_read(view)


@router.get("/users", response_model=UserList)
async def list_users(
    ctx: Ctx,
    access: Viewer,
    cursor: Annotated[
        str | None, Query(max_length=320, description="Email of the previous page's last")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UserList:
    require_known(access)
    views = await directory.list_users(ctx.db, after_email=cursor, limit=limit)
    next_cursor = views[-1].user.email if len(views) == limit else None
    return UserList(items=[user_read(v) for v in views], next_cursor=next_cursor)


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: str, ctx: Ctx, access: Viewer) -> UserRead:
    require_known(access)
    try:
        return user_read(await directory.get_user(ctx.db, user_id=user_id))
    except directory.NotFound:
        raise not_found("user") from None


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(user_id: str, body: UserUpdate, ctx: Ctx, access: Viewer) -> UserRead:
    require_admin(access)
    changes = body.model_dump(exclude_unset=True)
    try:
        view = await directory.update_user(ctx.db, actor=access.subject, user_id=user_id, changes=changes)
    except directory.NotFound:
        raise not_found("user") from None
    except directory.Rejected as exc:
        raise rejected(exc) from None
    return user_read(view)


@router.get("/groups", response_model=GroupList, tags=["groups"])
async def list_groups(ctx: Ctx, access: Viewer) -> GroupList:
    require_known(access)
    return GroupList(items=[group_read(g) for g in await directory.list_groups(ctx.db)])


@router.post("/groups", response_model=GroupRead, status_code=status.HTTP_201_CREATED, tags=["groups"])
async def create_group(body: GroupCreate, ctx: Ctx, access: Viewer) -> GroupRead:
    require_admin(access)
    try:
        group = await directory.create_group(ctx.db, actor=access.subject, key=body.key, name=body.name)
    except directory.Rejected as exc:
        raise rejected(exc) from None
    return group_read(group)


@router.post(
    "/groups/{group_id}/members",
    response_model=GroupRead,
    status_code=status.HTTP_201_CREATED,
    tags=["groups"],
)
async def add_member(group_id: str, body: MemberAdd, ctx: Ctx, access: Viewer) -> GroupRead:
    require_admin(access)
    try:
        group = await directory.add_member(
            ctx.db, actor=access.subject, group_id=group_id, user_id=body.user_id
        )
    except directory.NotFound:
        raise not_found("group") from None
    except directory.Rejected as exc:
        raise rejected(exc) from None
    return group_read(group)


@router.delete(
    "/groups/{group_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["groups"]
)
async def remove_member(group_id: str, user_id: str, ctx: Ctx, access: Viewer) -> Response:
    require_admin(access)
    try:
        await directory.remove_member(ctx.db, actor=access.subject, group_id=group_id, user_id=user_id)
    except directory.NotFound:
        raise not_found("membership") from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/queues", response_model=QueueList, tags=["queues"])
async def list_queues(ctx: Ctx, access: Viewer) -> QueueList:
    require_known(access)
    return QueueList(items=[queue_read(q) for q in await directory.list_queues(ctx.db)])


@router.post("/queues", response_model=QueueRead, status_code=status.HTTP_201_CREATED, tags=["queues"])
async def create_queue(body: QueueCreate, ctx: Ctx, access: Viewer) -> QueueRead:
    require_admin(access)
    try:
        queue = await directory.create_queue(
            ctx.db,
            actor=access.subject,
            key=body.key,
            name=body.name,
            group_id=body.group_id,
            sender_address=str(body.sender_address) if body.sender_address else None,
            active=body.active,
        )
    except directory.Rejected as exc:
        raise rejected(exc) from None
    return queue_read(queue)
