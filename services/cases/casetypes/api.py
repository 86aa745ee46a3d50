"""Routes of case types, their forms and templates. Any user the service knows reads them;
admins (and internal calls) write them. Parse, call the service, map the result.

``POST /api/v1/cases/from-template/{key}`` is a route of ``services.cases.api``: it must come
before the case routes that take a number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from services.cases.access import Viewer, require_admin, require_known
from services.cases.casetypes import service, templates
from services.cases.casetypes.models import CaseTemplate, CaseType
from services.cases.casetypes.schemas import (
    CaseTypeCreate,
    CaseTypeList,
    CaseTypeRead,
    CaseTypeUpdate,
    Channel,
    FormField,
    FormRead,
    TemplateCreate,
    TemplateList,
    TemplateRead,
    TemplateUpdate,
)
from services.cases.settings import Settings
from shared.app import Ctx

router = APIRouter(prefix="/api/v1", tags=["case types"])


@contextmanager
def answers() -> Iterator[None]:
    """A missing key is 404, a taken one 409; a configuration that does not hold together is a
    422 shaped like FastAPI's own, one error per problem, each naming where."""
    try:
        yield
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.Invalid as exc:
        errors = [
            {"type": "value_error", "loc": ("body", *p.field.split(".")), "msg": p.message, "input": None}
            for p in exc.problems
        ]
        raise RequestValidationError(errors) from None


def type_read(row: CaseType) -> CaseTypeRead:
    return CaseTypeRead.model_validate(row, from_attributes=True)


def template_read(row: CaseTemplate) -> TemplateRead:
    return TemplateRead.model_validate(row, from_attributes=True)


@router.get("/case-types", response_model=CaseTypeList)
async def list_types(
    ctx: Ctx, access: Viewer, department: str | None = None, active: bool | None = None
) -> CaseTypeList:
    require_known(access)
    rows = await service.list_types(ctx.db, department=department, active=active)
    return CaseTypeList(items=[type_read(r) for r in rows])


@router.post("/case-types", response_model=CaseTypeRead, status_code=status.HTTP_201_CREATED)
async def create_type(body: CaseTypeCreate, ctx: Ctx, access: Viewer) -> CaseTypeRead:
    require_admin(access)
    with answers():
        row = await service.create_type(ctx.db, values=body.model_dump(mode="json"))
    return type_read(row)


@router.get("/case-types/{key}", response_model=CaseTypeRead)
async def get_type(key: str, ctx: Ctx, access: Viewer) -> CaseTypeRead:
    require_known(access)
    with answers():
        return type_read(await service.get_type(ctx.db, key=key))


@router.patch("/case-types/{key}", response_model=CaseTypeRead)
async def update_type(key: str, body: CaseTypeUpdate, ctx: Ctx, access: Viewer) -> CaseTypeRead:
    require_admin(access)
    with answers():
        row = await service.update_type(
            ctx.db, key=key, changes=body.model_dump(mode="json", exclude_unset=True)
        )
    return type_read(row)


@router.get("/case-types/{key}/forms/{channel}", response_model=FormRead)
async def get_form(key: str, channel: Channel, ctx: Ctx, access: Viewer) -> FormRead:
    """The fields the channel's form shows, in order, with labels, kind, the options of
    dropdowns and the stage from which each is mandatory."""
    require_known(access)
    with answers():
        fields = await service.form(ctx.db, key=key, channel=channel)
    return FormRead(
        type=key,
        channel=channel,
        fields=[
            FormField.model_validate(
                {
                    "key": f.key,
                    "labels": f.labels,
                    "kind": f.kind,
                    "options": [{"key": o.key, "labels": o.labels} for o in f.options],
                    "mandatory_at": f.mandatory_at,
                }
            )
            for f in fields
        ],
    )


@router.get("/templates", response_model=TemplateList, tags=["templates"])
async def list_templates(
    ctx: Ctx,
    access: Viewer,
    type_: Annotated[str | None, Query(alias="type")] = None,
    active: bool | None = None,
) -> TemplateList:
    require_known(access)
    rows = await templates.list_templates(ctx.db, type_=type_, active=active)
    return TemplateList(items=[template_read(r) for r in rows])


@router.post(
    "/templates", response_model=TemplateRead, status_code=status.HTTP_201_CREATED, tags=["templates"]
)
async def create_template(body: TemplateCreate, ctx: Ctx, access: Viewer) -> TemplateRead:
    require_admin(access)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    with answers():
        row = await templates.create_template(ctx.db, settings=settings, values_=body.model_dump(mode="json"))
    return template_read(row)


@router.get("/templates/{key}", response_model=TemplateRead, tags=["templates"])
async def get_template(key: str, ctx: Ctx, access: Viewer) -> TemplateRead:
    require_known(access)
    with answers():
        return template_read(await templates.get_template(ctx.db, key=key))


@router.patch("/templates/{key}", response_model=TemplateRead, tags=["templates"])
async def update_template(key: str, body: TemplateUpdate, ctx: Ctx, access: Viewer) -> TemplateRead:
    require_admin(access)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    changes = body.model_dump(mode="json", exclude_unset=True)
    with answers():
        row = await templates.update_template(ctx.db, settings=settings, key=key, changes=changes)
    return template_read(row)
