"""``POST /api/v1/cases/import``: a case from another desk, with its history, at its own times.

Admins only (and internal calls): an import writes history in other people's names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.cases import importing
from services.cases.access import Viewer, require_admin
from services.cases.api import new_case
from services.cases.schemas import PersonIn, Priority
from services.cases.settings import Settings
from shared.app import Ctx
from shared.events.cases import Person

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ArticleImport(_Strict):
    at: AwareDatetime = Field(description="When it was written")
    kind: Literal["mail_in", "web", "phone", "reply", "note"] = Field(
        description="mail_in/web: from the customer; reply: a public answer; note: internal; phone: a call"
    )
    body_text: str = Field(min_length=1, max_length=1_000_000)
    subject: str | None = Field(default=None, max_length=500)
    internal: bool | None = Field(default=None, description="Default: notes are internal, the rest public")
    from_: PersonIn | None = Field(
        default=None, alias="from", description="Default: the requester for mail_in and web, nobody else"
    )


class StatusChangeImport(_Strict):
    at: AwareDatetime
    status: str = Field(min_length=1, max_length=40)
    actor: str | None = Field(default=None, max_length=200, description="Who changed it in the old system")


class CaseImport(_Strict):
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="The old system's number; importing it again changes nothing",
    )
    subject: str = Field(min_length=1, max_length=500)
    requester: PersonIn
    created_at: AwareDatetime = Field(description="When the case was registered in the old system")
    body_text: str = Field(default="", max_length=1_000_000, description="The first article, at created_at")
    channel: Literal["mail", "phone", "portal", "api"] = "mail"
    queue: str | None = Field(default=None, min_length=1, max_length=100)
    type: str | None = Field(default=None, min_length=1, max_length=60)
    priority: Priority | None = None
    impact: str | None = Field(default=None, max_length=20)
    urgency: str | None = Field(default=None, max_length=20)
    assignee: str | None = Field(default=None, max_length=200)
    group: str | None = Field(default=None, max_length=100)
    fields: dict[str, Any] = Field(default_factory=dict, description="Values of the case type's fields")
    articles: list[ArticleImport] = Field(default_factory=list, max_length=1000)
    status_changes: list[StatusChangeImport] = Field(default_factory=list, max_length=1000)


class CaseImported(BaseModel):
    number: str
    external_id: str
    created: bool = Field(description="False: imported before, this is that case")
    created_at: datetime
    status: str


def imported_case(body: CaseImport) -> importing.ImportedCase:
    return importing.ImportedCase(
        external_id=body.external_id,
        created_at=body.created_at,
        new=new_case(body, body.requester),
        articles=[
            importing.ImportedArticle(
                at=a.at,
                kind=a.kind,
                body_text=a.body_text,
                internal=a.internal if a.internal is not None else a.kind == "note",
                sender=Person(email=str(a.from_.email), name=a.from_.name) if a.from_ else None,
                subject=a.subject,
            )
            for a in body.articles
        ],
        status_changes=[
            importing.ImportedChange(at=c.at, status=c.status, actor=c.actor) for c in body.status_changes
        ],
    )


@router.post(
    "/import",
    response_model=CaseImported,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "This external_id was imported before: that case"}},
)
async def import_case(body: CaseImport, ctx: Ctx, access: Viewer, response: Response) -> CaseImported:
    require_admin(access)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    try:
        result = await importing.import_case(
            ctx.db, settings=settings, case=imported_case(body), actor=access.subject
        )
    except importing.InvalidImport as exc:
        errors = [
            {"type": "value_error", "loc": ("body", *loc), "msg": msg, "input": None}
            for loc, msg in exc.errors
        ]
        raise RequestValidationError(errors) from None
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return CaseImported(
        number=str(result.number),
        external_id=body.external_id,
        created=result.created,
        created_at=result.created_at,
        status=result.status,
    )
