"""Routes of SLA: ``/api/v1/calendars``, ``/api/v1/sla-policies`` and ``/api/v1/cases/{number}/sla``.

Any user the service knows reads the configuration; admins (and internal calls) change it. The
SLA of a case is shown to whoever sees the case, and a hidden case is not found, like a missing one.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response, status

from services.cases import refusals
from services.cases.access import Viewer, require_admin, require_known
from services.cases.domain.sla import ClockState
from services.cases.sla import service
from services.cases.sla.calendars import CalendarView
from services.cases.sla.models import Policy
from services.cases.sla.schemas import (
    CalendarCreate,
    CalendarList,
    CalendarRead,
    CalendarUpdate,
    CaseSlaRead,
    ClockRead,
    PolicyCreate,
    PolicyList,
    PolicyRead,
    PolicyUpdate,
)
from shared.app import Ctx

router = APIRouter(prefix="/api/v1", tags=["sla"])
NOT_FOUND = "case not found"  # the same answer as GET /api/v1/cases/{number}


def calendar_read(calendar: CalendarView) -> CalendarRead:
    return CalendarRead.model_validate(calendar, from_attributes=True)


def policy_read(policy: Policy) -> PolicyRead:
    fields = set(PolicyRead.model_fields) - {"calendar"}
    return PolicyRead.model_validate(
        {**{f: getattr(policy, f) for f in fields}, "calendar": policy.calendar_key}
    )


def minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def clock_read(clock: ClockState | None) -> ClockRead | None:
    if clock is None:
        return None
    return ClockRead(
        target_minutes=minutes(clock.target),
        elapsed_minutes=minutes(clock.elapsed),
        remaining_minutes=minutes(clock.target) - minutes(clock.elapsed),
        held_minutes=minutes(clock.held),
        phase=clock.phase,
        due_at=clock.due_at,
        warning_at=clock.warning_at,
        warned=clock.warned,
        breached=clock.breached,
    )


@router.get("/calendars", response_model=CalendarList, tags=["calendars"])
async def list_calendars(ctx: Ctx, access: Viewer) -> CalendarList:
    require_known(access)
    return CalendarList(items=[calendar_read(c) for c in await service.list_calendars(ctx.db)])


@router.post(
    "/calendars", response_model=CalendarRead, status_code=status.HTTP_201_CREATED, tags=["calendars"]
)
async def create_calendar(body: CalendarCreate, ctx: Ctx, access: Viewer) -> CalendarRead:
    require_admin(access)
    with refusals.answers():
        return calendar_read(await service.create_calendar(ctx.db, new=body))


@router.get("/calendars/{key}", response_model=CalendarRead, tags=["calendars"])
async def get_calendar(key: str, ctx: Ctx, access: Viewer) -> CalendarRead:
    require_known(access)
    with refusals.answers():
        return calendar_read(await service.get_calendar(ctx.db, key=key))


@router.patch("/calendars/{key}", response_model=CalendarRead, tags=["calendars"])
async def update_calendar(key: str, body: CalendarUpdate, ctx: Ctx, access: Viewer) -> CalendarRead:
    require_admin(access)
    with refusals.answers():
        changes = body.model_dump(exclude_unset=True)
        return calendar_read(await service.update_calendar(ctx.db, key=key, changes=changes))


@router.get("/sla-policies", response_model=PolicyList)
async def list_policies(ctx: Ctx, access: Viewer) -> PolicyList:
    require_known(access)
    return PolicyList(items=[policy_read(p) for p in await service.list_policies(ctx.db)])


@router.post("/sla-policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED)
async def create_policy(body: PolicyCreate, ctx: Ctx, access: Viewer) -> PolicyRead:
    require_admin(access)
    with refusals.answers():
        return policy_read(await service.create_policy(ctx.db, new=body))


@router.get("/sla-policies/{policy_id}", response_model=PolicyRead)
async def get_policy(policy_id: str, ctx: Ctx, access: Viewer) -> PolicyRead:
    require_known(access)
    with refusals.answers():
        return policy_read(await service.get_policy(ctx.db, policy_id=policy_id))


@router.patch("/sla-policies/{policy_id}", response_model=PolicyRead)
async def update_policy(policy_id: str, body: PolicyUpdate, ctx: Ctx, access: Viewer) -> PolicyRead:
    require_admin(access)
    with refusals.answers():
        changes = body.model_dump(exclude_unset=True)
        return policy_read(await service.update_policy(ctx.db, policy_id=policy_id, changes=changes))


@router.delete("/sla-policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(policy_id: str, ctx: Ctx, access: Viewer) -> Response:
    require_admin(access)
    with refusals.answers():
        await service.delete_policy(ctx.db, policy_id=policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cases/{number}/sla", response_model=CaseSlaRead, tags=["cases"])
async def case_sla(number: str, ctx: Ctx, access: Viewer) -> CaseSlaRead:
    if not number.isdigit() or len(number) > 12:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    try:
        view = await service.case_sla(ctx.db, number=int(number), access=access)
    except service.NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    state = view.state
    return CaseSlaRead(
        number=str(view.number),
        policy_id=view.policy_id,
        calendar=view.calendar_key,
        as_of=state.as_of if state else ctx.db.clock(),
        first_response_at=view.first_response_at,
        first_response=clock_read(state.first_response if state else None),
        resolution=clock_read(state.resolution if state else None),
    )
