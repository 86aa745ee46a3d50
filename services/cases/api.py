"""Routes of the cases service: parse, call the service, map the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, status
from pydantic import BaseModel

from services.cases import bulk, repository, service
from services.cases.access import Viewer, require_known
from services.cases.casetypes import templates
from services.cases.casetypes.gate import ChangeRefused
from services.cases.casetypes.schemas import FromTemplate, refusal
from services.cases.domain.statuses import Category
from services.cases.models import Article, Case
from services.cases.schemas import (
    ArticleCreate,
    ArticleRead,
    AttachmentRead,
    BulkResult,
    BulkUpdate,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseRead,
    CaseUpdate,
    PersonIn,
    PersonRead,
    RuleHitRead,
    SlaRead,
)
from services.cases.settings import Settings
from shared.app import Ctx
from shared.http import USER_HEADER

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Actor = Annotated[str | None, Header(alias=USER_HEADER, include_in_schema=False)]

# The one answer for a case that does not exist and for a case the caller may not see.
NOT_FOUND = "case not found"


def case_read(case: Case) -> CaseRead:
    return CaseRead(
        number=str(case.number),
        subject=case.subject,
        status=case.status,
        status_category=case.status_category,
        type=case.type,
        queue=case.queue,
        priority=case.priority,
        impact=case.impact,
        urgency=case.urgency,
        channel=case.channel,
        requester=PersonRead(email=case.requester.email, name=case.requester.name),
        assignee=case.assignee,
        group=case.group,
        fields=case.fields or {},
        template=case.template,
        routing=[RuleHitRead.model_validate(hit) for hit in case.routing or []],
        sla=SlaRead(
            first_response_due_at=case.sla_first_response_due_at,
            resolution_due_at=case.sla_resolution_due_at,
        ),
        follow_up_of=str(case.follow_up_of) if case.follow_up_of is not None else None,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


def article_read(article: Article) -> ArticleRead:
    sender = PersonRead(email=article.from_email, name=article.from_name) if article.from_email else None
    return ArticleRead(
        id=article.id,
        kind=article.kind,
        internal=article.internal,
        channel=article.channel,
        from_=sender,
        subject=article.subject,
        body_text=article.body_text,
        threaded_by=article.threaded_by,
        rfc_message_id=article.rfc_message_id,
        reply_text=article.reply_text,
        html_sha256=article.html_sha256,
        attachments=[AttachmentRead.model_validate(a) for a in article.attachments or []],
        created_at=article.created_at,
    )


# What a request for a new case may say, under the same names as ``service.NewCase``.
NEW_CASE_VALUES = frozenset(
    {
        "subject",
        "body_text",
        "channel",
        "queue",
        "type",
        "priority",
        "assignee",
        "group",
        "fields",
        "impact",
        "urgency",
    }
)


def new_case(body: BaseModel, requester: PersonIn) -> service.NewCase:
    """The case a request body asks for (a registration, an import), in the service's terms."""
    values = body.model_dump(include=set(NEW_CASE_VALUES & type(body).model_fields.keys()))
    return service.NewCase(requester_email=str(requester.email), requester_name=requester.name, **values)


def parse_number(number: str) -> int:
    if not number.isdigit():
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return int(number)


def refused(exc: ChangeRefused) -> HTTPException:
    """The case type's gate said no: 422 naming each missing field (key and labels), each wrong
    value, and for a refused transition the statuses the case could go to."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, refusal(exc))


@router.get("", response_model=CaseList)
async def list_cases(
    ctx: Ctx,
    access: Viewer,
    status_: Annotated[str | None, Query(alias="status")] = None,
    queue: str | None = None,
    requester: Annotated[str | None, Query(description="Requester email address")] = None,
    q: Annotated[
        str | None,
        Query(
            description='Words in the subject or articles (full text: "skriveren" finds "skriver")',
            max_length=200,
        ),
    ] = None,
    type_: Annotated[str | None, Query(alias="type", description="Case type key")] = None,
    status_category: Category | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CaseList:
    filters = repository.CaseFilter(
        status=status_,
        queue=queue,
        requester=requester,
        text=q,
        type=type_,
        status_category=status_category.value if status_category else None,
        priority=priority,
        assignee=assignee,
    )
    async with ctx.db.sessions() as session:
        cases = await repository.list_cases(
            session, filters, access, before_number=int(cursor) if cursor else None, limit=limit
        )
    next_cursor = str(cases[-1].number) if len(cases) == limit else None
    return CaseList(items=[case_read(c) for c in cases], next_cursor=next_cursor)


# The routes below with a fixed first segment come before those taking a number.


@router.post("/bulk", response_model=BulkResult)
async def bulk_update(body: BulkUpdate, ctx: Ctx, access: Viewer, actor: Actor = None) -> BulkResult:
    """The same change of several cases, all or nothing. A case the caller does not see answers
    like one that does not exist (404 naming the numbers); if the case type refuses the change of
    any case, none changes, and the 422 names per case what is missing or wrong."""
    numbers = list(dict.fromkeys(int(n) for n in body.numbers))
    changes = body.changes.model_dump(exclude_unset=True, mode="json")
    async with ctx.db.uow() as uow:
        try:
            cases = await bulk.bulk_update(
                uow, access=access, numbers=numbers, changes=changes, origin="user", actor=actor
            )
        except bulk.CasesNotFound as exc:
            missing = {"message": NOT_FOUND, "numbers": [str(n) for n in exc.numbers]}
            raise HTTPException(status.HTTP_404_NOT_FOUND, missing) from None
        except bulk.BulkRefused as exc:
            detail: dict[str, Any] = {
                "message": f"no case changed: the case type refused {len(exc.refused)} of {len(numbers)}",
                "refused": [{"number": str(n), **refusal(e)} for n, e in exc.refused.items()],
            }
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from None
        await uow.commit()
    return BulkResult(items=[case_read(c) for c in cases])


@router.post("/from-template/{key}", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
async def create_from_template(key: str, body: FromTemplate, ctx: Ctx, access: Viewer) -> CaseRead:
    """A complete case from a template and the requester (fields, subject and text may override
    the template's); the case type's create gate applies to the result."""
    require_known(access)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    async with ctx.db.uow() as uow:
        try:
            case = await templates.case_from_template(
                uow,
                settings=settings,
                key=key,
                requester_email=str(body.requester.email),
                requester_name=body.requester.name,
                fields=body.fields,
                subject=body.subject,
                body_text=body.body_text,
            )
        except templates.NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except ChangeRefused as exc:
            raise refused(exc) from None
        await uow.commit()
    return case_read(case)


@router.get("/{number}", response_model=CaseDetail, response_model_by_alias=True)
async def get_case(number: str, ctx: Ctx, access: Viewer) -> CaseDetail:
    async with ctx.db.sessions() as session:
        case = await repository.visible_case(session, parse_number(number), access, with_articles=True)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return CaseDetail(**case_read(case).model_dump(), articles=[article_read(a) for a in case.articles])


@router.post("", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
async def create_case(body: CaseCreate, ctx: Ctx, access: Viewer) -> CaseRead:
    # Anyone the service knows may register a case in any queue (a phone call for HR taken by
    # IT); the answer holds only what they sent, and the case may then be out of their sight.
    require_known(access)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    new = new_case(body, body.requester)
    async with ctx.db.uow() as uow:
        try:
            case = await service.create_case(uow, settings=settings, new=new)
        except ChangeRefused as exc:
            raise refused(exc) from None
        await uow.commit()
    return case_read(case)


@router.patch("/{number}", response_model=CaseRead)
async def update_case(
    number: str, body: CaseUpdate, ctx: Ctx, access: Viewer, actor: Actor = None
) -> CaseRead:
    changes = body.model_dump(exclude_unset=True, mode="json")
    async with ctx.db.uow() as uow:
        try:
            case = await service.update_case(
                uow, access=access, number=parse_number(number), changes=changes, origin="user", actor=actor
            )
        except service.CaseNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
        except ChangeRefused as exc:
            raise refused(exc) from None
        await uow.commit()
    return case_read(case)


@router.post("/{number}/articles", response_model=ArticleRead, status_code=status.HTTP_201_CREATED)
async def add_article(
    number: str, body: ArticleCreate, ctx: Ctx, access: Viewer, actor: Actor = None
) -> ArticleRead:
    internal = body.internal if body.internal is not None else body.kind == "note"
    async with ctx.db.uow() as uow:
        try:
            article = await service.add_article(
                uow,
                access=access,
                number=parse_number(number),
                kind=body.kind,
                body_text=body.body_text,
                subject=body.subject,
                internal=internal,
                actor=actor,
            )
        except service.CaseNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
        await uow.commit()
    return article_read(article)
