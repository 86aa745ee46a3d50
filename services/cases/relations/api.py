"""Routes of case relations under ``/api/v1/cases/{number}/``: links, merge, time, audit.
Parse, call the service, map the result; a hidden case answers like api.py's missing one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from services.cases import service as cases_service
from services.cases.access import Viewer
from services.cases.api import NOT_FOUND, Actor, parse_number
from services.cases.relations import service
from services.cases.relations.schemas import (
    AuditList,
    AuditRead,
    LinkCreate,
    LinkList,
    LinkRead,
    MergeCase,
    MergeRead,
    TimeCreate,
    TimeList,
    TimeRead,
    TimeTotals,
)
from shared.app import Ctx

router = APIRouter(prefix="/api/v1/cases/{number}", tags=["cases"])


@contextmanager
def answers() -> Iterator[None]:
    """Map the service's refusals to HTTP answers."""
    try:
        yield
    except cases_service.CaseNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    except service.LinkNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "link not found") from None
    except service.InvalidRelation as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except service.RelationConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None


def link_read(view: service.LinkView) -> LinkRead:
    return LinkRead(
        kind=view.kind,
        number=str(view.case.number),
        subject=view.case.subject,
        status=view.case.status,
        created_at=view.created_at,
    )


@router.get("/links", response_model=LinkList)
async def list_links(number: str, ctx: Ctx, access: Viewer) -> LinkList:
    with answers():
        async with ctx.db.sessions() as session:
            views = await service.links_of(session, access=access, number=parse_number(number))
    return LinkList(items=[link_read(v) for v in views])


@router.post("/links", response_model=LinkRead, status_code=status.HTTP_201_CREATED)
async def add_link(number: str, body: LinkCreate, ctx: Ctx, access: Viewer, actor: Actor = None) -> LinkRead:
    with answers():
        async with ctx.db.uow() as uow:
            view = await service.link_cases(
                uow,
                access=access,
                number=parse_number(number),
                kind=body.kind,
                other=int(body.number),
                actor=actor,
            )
            await uow.commit()
    return link_read(view)


@router.delete("/links/{other}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_link(number: str, other: str, ctx: Ctx, access: Viewer, actor: Actor = None) -> Response:
    with answers():
        async with ctx.db.uow() as uow:
            await service.unlink_cases(
                uow, access=access, number=parse_number(number), other=parse_number(other), actor=actor
            )
            await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/merge", response_model=MergeRead)
async def merge(number: str, body: MergeCase, ctx: Ctx, access: Viewer, actor: Actor = None) -> MergeRead:
    with answers():
        async with ctx.db.uow() as uow:
            moved = await service.merge_case(
                uow, access=access, number=parse_number(number), into=int(body.into), actor=actor
            )
            await uow.commit()
    return MergeRead(number=number, into=body.into, articles_moved=moved)


@router.post("/time", response_model=TimeRead, status_code=status.HTTP_201_CREATED)
async def register_time(
    number: str, body: TimeCreate, ctx: Ctx, access: Viewer, actor: Actor = None
) -> TimeRead:
    with answers():
        async with ctx.db.uow() as uow:
            entry = await service.register_time(
                uow, access=access, number=parse_number(number), actor=actor, **body.model_dump()
            )
            await uow.commit()
    return TimeRead.model_validate(entry, from_attributes=True)


@router.get("/time", response_model=TimeList)
async def list_time(number: str, ctx: Ctx, access: Viewer) -> TimeList:
    with answers():
        async with ctx.db.sessions() as session:
            sheet = await service.time_sheet(session, access=access, number=parse_number(number))
    return TimeList(
        items=[TimeRead.model_validate(e, from_attributes=True) for e in sheet.entries],
        totals=TimeTotals(minutes=sheet.minutes, billable_minutes=sheet.billable_minutes),
    )


@router.get("/audit", response_model=AuditList)
async def audit_trail(
    number: str,
    ctx: Ctx,
    access: Viewer,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{1,18}$", description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditList:
    with answers():
        async with ctx.db.sessions() as session:
            entries = await service.audit_trail(
                session,
                access=access,
                number=parse_number(number),
                before_id=int(cursor) if cursor else None,
                limit=limit,
            )
    next_cursor = str(entries[-1].id) if len(entries) == limit else None
    return AuditList(
        items=[AuditRead.model_validate(e, from_attributes=True) for e in entries], next_cursor=next_cursor
    )
