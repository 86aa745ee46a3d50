"""Routes of knowledge: ``/api/v1/kb/...``, ``/api/v1/info-board``, ``/api/v1/standard-solutions``
and ``/api/v1/cases/{number}/promote-solution``. Parse, call the service, map the result.

Access, for now: the role the gateway forwards is the hook. A ``customer`` sees public KB
articles and the customers' board only, and changes nothing; every other caller is staff. The
access issue's identity dependency replaces the ``Role`` header and ``editor``; cases are drawn on
(promote, render) only where the caller's ``Viewer`` sees their queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from services.cases.access import Viewer
from services.cases.knowledge import domain, service
from services.cases.knowledge.domain import Audience, BoardKind, KbStatus, Lang, Visibility
from services.cases.knowledge.models import InfoBoardEntry, KbArticle, StandardSolution
from services.cases.knowledge.schemas import (
    FaqEntry,
    FaqList,
    InfoBoardEntryCreate,
    InfoBoardEntryRead,
    InfoBoardEntryUpdate,
    InfoBoardList,
    KbArticleCreate,
    KbArticleList,
    KbArticleRead,
    KbArticleUpdate,
    PromoteSolution,
    Rendered,
    RenderRequest,
    StandardSolutionCreate,
    StandardSolutionList,
    StandardSolutionRead,
    StandardSolutionUpdate,
)
from shared.app import Ctx, Cursor, Limit
from shared.http import ROLE_HEADER, USER_HEADER

router = APIRouter(tags=["knowledge"])
Actor = Annotated[str | None, Header(alias=USER_HEADER, include_in_schema=False)]
Role = Annotated[str | None, Header(alias=ROLE_HEADER, include_in_schema=False)]
KB = "/api/v1/kb/articles"
BOARD = "/api/v1/info-board"
SOLUTIONS = "/api/v1/standard-solutions"


def editor(role: Role = None) -> None:
    """Who may change knowledge: staff, not customers."""
    if role == domain.CUSTOMER_ROLE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "customers cannot change knowledge")


Editor = [Depends(editor)]


@contextlib.contextmanager
def answers() -> Iterator[None]:
    """The service's refusals as HTTP answers; a broken rule is a 422 naming its field."""
    try:
        yield
    except service.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except service.Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.VersionMismatch as exc:
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, str(exc)) from None
    except domain.InvalidInput as exc:
        where = "query" if exc.field == "cursor" else "body"
        error = {"type": "value_error", "loc": (where, exc.field), "msg": exc.message, "input": None}
        raise RequestValidationError([error]) from None


def case_number(number: str) -> int:
    if not number.isdigit() or len(number) > 12:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "case not found")
    return int(number)


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` names (``"3"``, ``W/"3"``); ``*`` or none: any version."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() else -1  # matches no version: 412


def kb_read(article: KbArticle, response: Response | None = None) -> KbArticleRead:
    if response is not None:
        response.headers["ETag"] = f'"{article.version}"'
    number = article.source_case_number
    return KbArticleRead.model_validate(
        {
            **{field: getattr(article, field) for field in KbArticleRead.model_fields},
            "source_case_number": str(number) if number is not None else None,
        }
    )


def faq_entry(article: KbArticle) -> FaqEntry:
    return FaqEntry.model_validate({field: getattr(article, field) for field in FaqEntry.model_fields})


def board_read(entry: InfoBoardEntry) -> InfoBoardEntryRead:
    return InfoBoardEntryRead.model_validate(
        {field: getattr(entry, field) for field in InfoBoardEntryRead.model_fields}
    )


def solution_read(solution: StandardSolution) -> StandardSolutionRead:
    fields = set(StandardSolutionRead.model_fields) - {"placeholders", "unknown_placeholders"}
    template = f"{solution.title}\n{solution.body}"
    return StandardSolutionRead.model_validate(
        {
            **{field: getattr(solution, field) for field in fields},
            "placeholders": domain.placeholders(template),
            "unknown_placeholders": domain.unknown_placeholders(template),
        }
    )


# ---- KB articles and the FAQ ----


@router.get(KB, response_model=KbArticleList)
async def list_kb_articles(
    ctx: Ctx,
    role: Role = None,
    status_: Annotated[KbStatus | None, Query(alias="status")] = None,
    category: str | None = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    lang: Lang | None = None,
    visibility: Visibility | None = None,
    q: Annotated[str | None, Query(description="Words in the title or text", max_length=200)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> KbArticleList:
    allowed = domain.kb_visibilities_for(role)
    selection = domain.KbSelection(
        visibilities=frozenset(v.value for v in (allowed & {visibility} if visibility else allowed)),
        status=status_,
        category=category,
        tag=tag,
        lang=lang,
        text=q,
    )
    with answers():
        page = await service.list_kb_articles(ctx.db, selection=selection, cursor=cursor, limit=limit)
    return KbArticleList(items=[kb_read(a) for a in page.items], next_cursor=page.next_cursor)


@router.post(KB, response_model=KbArticleRead, status_code=status.HTTP_201_CREATED, dependencies=Editor)
async def create_kb_article(
    body: KbArticleCreate, ctx: Ctx, response: Response, actor: Actor = None
) -> KbArticleRead:
    return kb_read(await service.create_kb_article(ctx.db, new=body, author=actor), response)


@router.get(KB + "/{kb_article_id}", response_model=KbArticleRead)
async def get_kb_article(
    kb_article_id: str, ctx: Ctx, response: Response, role: Role = None
) -> KbArticleRead:
    visibilities = {v.value for v in domain.kb_visibilities_for(role)}
    with answers():
        article = await service.get_kb_article(ctx.db, kb_article_id=kb_article_id, visibilities=visibilities)
    return kb_read(article, response)


@router.patch(KB + "/{kb_article_id}", response_model=KbArticleRead, dependencies=Editor)
async def update_kb_article(
    kb_article_id: str,
    body: KbArticleUpdate,
    ctx: Ctx,
    response: Response,
    if_match: Annotated[str | None, Header(description='Refuse if not this version: "3"')] = None,
) -> KbArticleRead:
    with answers():
        article = await service.update_kb_article(
            ctx.db,
            kb_article_id=kb_article_id,
            changes=body.model_dump(exclude_unset=True),
            expected_version=expected_version(if_match),
        )
    return kb_read(article, response)


@router.post(KB + "/{kb_article_id}/publish", response_model=KbArticleRead, dependencies=Editor)
async def publish_kb_article(kb_article_id: str, ctx: Ctx, response: Response) -> KbArticleRead:
    with answers():
        return kb_read(await service.publish_kb_article(ctx.db, kb_article_id=kb_article_id), response)


@router.post(KB + "/{kb_article_id}/archive", response_model=KbArticleRead, dependencies=Editor)
async def archive_kb_article(kb_article_id: str, ctx: Ctx, response: Response) -> KbArticleRead:
    with answers():
        return kb_read(await service.archive_kb_article(ctx.db, kb_article_id=kb_article_id), response)


@router.get("/api/v1/kb/faq", response_model=FaqList)
async def faq(
    ctx: Ctx, lang: Lang | None = None, category: str | None = None, cursor: Cursor = None, limit: Limit = 50
) -> FaqList:
    with answers():
        page = await service.list_faq(ctx.db, lang=lang, category=category, cursor=cursor, limit=limit)
    return FaqList(items=[faq_entry(a) for a in page.items], next_cursor=page.next_cursor)


@router.post(
    "/api/v1/cases/{number}/promote-solution",
    response_model=KbArticleRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=Editor,
    responses={200: {"description": "This solution was promoted before: its draft"}},
)
async def promote_solution(
    number: str,
    ctx: Ctx,
    response: Response,
    access: Viewer,
    body: Annotated[PromoteSolution | None, Body()] = None,
    actor: Actor = None,
) -> KbArticleRead:
    """A resolved or closed case's last public reply as an internal KB draft (409 otherwise)."""
    with answers():
        article, created = await service.promote_solution(
            ctx.db,
            number=case_number(number),
            options=body or PromoteSolution(),
            author=actor,
            sees_queue=access.sees,
        )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return kb_read(article, response)


# ---- info board ----


@router.get(BOARD, response_model=InfoBoardList)
async def list_board(
    ctx: Ctx,
    role: Role = None,
    audience: Audience | None = None,
    at: Annotated[AwareDatetime | None, Query(description="Only entries valid at this instant")] = None,
    organisation: Annotated[str | None, Query(description="The caller's organisation id")] = None,
    kind: BoardKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> InfoBoardList:
    """Without ``at`` every entry (the admin view); the portal asks with ``at`` = now."""
    query = domain.BoardQuery(
        at=at, audience=domain.board_audience_for(role, audience), organisation_id=organisation
    )
    with answers():
        page = await service.list_board(ctx.db, query=query, kind=kind, cursor=cursor, limit=limit)
    return InfoBoardList(items=[board_read(e) for e in page.items], next_cursor=page.next_cursor)


@router.post(
    BOARD, response_model=InfoBoardEntryRead, status_code=status.HTTP_201_CREATED, dependencies=Editor
)
async def create_board_entry(body: InfoBoardEntryCreate, ctx: Ctx, actor: Actor = None) -> InfoBoardEntryRead:
    with answers():
        return board_read(await service.create_board_entry(ctx.db, new=body, author=actor))


@router.patch(BOARD + "/{entry_id}", response_model=InfoBoardEntryRead, dependencies=Editor)
async def update_board_entry(entry_id: str, body: InfoBoardEntryUpdate, ctx: Ctx) -> InfoBoardEntryRead:
    changes = body.model_dump(exclude_unset=True)
    with answers():
        return board_read(await service.update_board_entry(ctx.db, entry_id=entry_id, changes=changes))


# ---- standard solutions ----


@router.get(SOLUTIONS, response_model=StandardSolutionList)
async def list_standard_solutions(
    ctx: Ctx,
    lang: Lang | None = None,
    category: str | None = None,
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> StandardSolutionList:
    with answers():
        page = await service.list_standard_solutions(
            ctx.db, lang=lang, category=category, active=active, cursor=cursor, limit=limit
        )
    return StandardSolutionList(items=[solution_read(s) for s in page.items], next_cursor=page.next_cursor)


@router.post(
    SOLUTIONS, response_model=StandardSolutionRead, status_code=status.HTTP_201_CREATED, dependencies=Editor
)
async def create_standard_solution(
    body: StandardSolutionCreate, ctx: Ctx, actor: Actor = None
) -> StandardSolutionRead:
    return solution_read(await service.create_standard_solution(ctx.db, new=body, author=actor))


@router.get(SOLUTIONS + "/{solution_id}", response_model=StandardSolutionRead)
async def get_standard_solution(solution_id: str, ctx: Ctx) -> StandardSolutionRead:
    with answers():
        return solution_read(await service.get_standard_solution(ctx.db, solution_id=solution_id))


@router.patch(SOLUTIONS + "/{solution_id}", response_model=StandardSolutionRead, dependencies=Editor)
async def update_standard_solution(
    solution_id: str, body: StandardSolutionUpdate, ctx: Ctx
) -> StandardSolutionRead:
    changes = body.model_dump(exclude_unset=True)
    with answers():
        return solution_read(
            await service.update_standard_solution(ctx.db, solution_id=solution_id, changes=changes)
        )


@router.post(SOLUTIONS + "/{solution_id}/render", response_model=Rendered, dependencies=Editor)
async def render_standard_solution(
    solution_id: str, body: RenderRequest, ctx: Ctx, access: Viewer
) -> Rendered:
    """The solution filled in for a case; what cannot be filled stays in the text as ``[[name]]``."""
    with answers():
        title, text = await service.render_for_case(
            ctx.db,
            solution_id=solution_id,
            number=int(body.case_number),
            agent_name=body.agent_name,
            sees_queue=access.sees,
        )
    return Rendered(
        title=title.text,
        body=text.text,
        unknown_placeholders=list(dict.fromkeys(title.unknown + text.unknown)),
        missing_values=list(dict.fromkeys(title.missing + text.missing)),
    )
