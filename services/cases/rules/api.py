"""Routes of routing rules and group assignment. Admins (and internal calls) change them and
try rules out; any user this service knows may read them (an agent wonders why a case landed
where it did)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.exceptions import RequestValidationError

from services.cases.access import Viewer, require_admin, require_known
from services.cases.directory import NotFound, Rejected
from services.cases.rules import service, turns
from services.cases.rules.models import RoutingRule
from services.cases.rules.schemas import (
    AssignmentRead,
    AssignmentUpdate,
    RoutedValues,
    RuleCreate,
    RuleHit,
    RuleList,
    RuleRead,
    RuleUpdate,
    TryFacts,
    TryResult,
)
from services.cases.settings import Settings
from shared.app import Ctx

router = APIRouter(prefix="/api/v1", tags=["routing"])

RULE_NOT_FOUND = "routing rule not found"


def rule_read(rule: RoutingRule) -> RuleRead:
    return RuleRead.model_validate(rule, from_attributes=True)


def assignment_read(view: service.AssignmentView) -> AssignmentRead:
    return AssignmentRead(
        group_id=view.group.id,
        group_key=view.group.key,
        method=view.method,
        labels=turns.LABELS[view.method],
        last_user_id=view.state.last_user_id if view.state else None,
        last_assigned_at=view.state.last_assigned_at if view.state else None,
    )


def rejected(exc: Rejected) -> RequestValidationError:
    """Shaped like FastAPI's own 422, located at the field of the body that names it."""
    loc = ("body", *exc.field.split("."))
    return RequestValidationError(
        [{"type": "value_error", "loc": loc, "msg": exc.message, "input": exc.value}]
    )


def settings_of(ctx: Ctx) -> Settings:
    settings: Settings = ctx.settings  # type: ignore[assignment]
    return settings


@router.get("/routing-rules", response_model=RuleList)
async def list_rules(ctx: Ctx, access: Viewer) -> RuleList:
    require_known(access)
    return RuleList(items=[rule_read(r) for r in await service.list_rules(ctx.db)])


@router.post("/routing-rules", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
async def create_rule(body: RuleCreate, ctx: Ctx, access: Viewer) -> RuleRead:
    require_admin(access)
    try:
        rule = await service.create_rule(
            ctx.db,
            settings=settings_of(ctx),
            actor=access.subject,
            name=body.name,
            active=body.active,
            position=body.position,
            conditions=body.conditions,
            actions=body.actions,
            stop=body.stop,
        )
    except Rejected as exc:
        raise rejected(exc) from None
    return rule_read(rule)


@router.post("/routing-rules/try", response_model=TryResult)
async def try_rules(body: TryFacts, ctx: Ctx, access: Viewer) -> TryResult:
    require_admin(access)
    tried = await service.try_rules(ctx.db, settings=settings_of(ctx), facts=body)
    result = tried.result
    return TryResult(
        hits=[RuleHit.model_validate(hit.as_record()) for hit in tried.hits],
        result=RoutedValues(
            type=result.type,
            queue=result.queue,
            group=result.group,
            assignee=result.assignee,
            priority=result.priority,
            impact=result.impact,
            urgency=result.urgency,
            fields=dict(result.fields),
        ),
    )


@router.get("/routing-rules/{rule_id}", response_model=RuleRead)
async def get_rule(rule_id: str, ctx: Ctx, access: Viewer) -> RuleRead:
    require_known(access)
    try:
        return rule_read(await service.get_rule(ctx.db, rule_id=rule_id))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, RULE_NOT_FOUND) from None


@router.patch("/routing-rules/{rule_id}", response_model=RuleRead)
async def update_rule(rule_id: str, body: RuleUpdate, ctx: Ctx, access: Viewer) -> RuleRead:
    require_admin(access)
    try:
        rule = await service.update_rule(
            ctx.db,
            settings=settings_of(ctx),
            actor=access.subject,
            rule_id=rule_id,
            changes=body.model_dump(exclude_unset=True),
        )
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, RULE_NOT_FOUND) from None
    except Rejected as exc:
        raise rejected(exc) from None
    return rule_read(rule)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: str, ctx: Ctx, access: Viewer) -> Response:
    require_admin(access)
    try:
        await service.delete_rule(ctx.db, actor=access.subject, rule_id=rule_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, RULE_NOT_FOUND) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/groups/{group_id}/assignment", response_model=AssignmentRead, tags=["groups"])
async def get_assignment(group_id: str, ctx: Ctx, access: Viewer) -> AssignmentRead:
    require_known(access)
    try:
        return assignment_read(await service.get_assignment(ctx.db, group_id=group_id))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "group not found") from None


@router.put("/groups/{group_id}/assignment", response_model=AssignmentRead, tags=["groups"])
async def set_assignment(group_id: str, body: AssignmentUpdate, ctx: Ctx, access: Viewer) -> AssignmentRead:
    require_admin(access)
    try:
        view = await service.set_assignment(
            ctx.db, actor=access.subject, group_id=group_id, method=body.method
        )
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "group not found") from None
    return assignment_read(view)
