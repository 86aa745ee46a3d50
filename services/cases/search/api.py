"""Routes of search: ``GET /api/v1/search`` and ``GET /api/v1/cases/{number}/similar``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from pydantic import BaseModel, Field

from services.cases.access import Viewer
from services.cases.api import NOT_FOUND, case_read, parse_number
from services.cases.knowledge.domain import CUSTOMER_ROLE, KbStatus, Visibility
from services.cases.repository import visible_case
from services.cases.schemas import CaseRead
from services.cases.search import domain, repository
from services.cases.search.domain import Kind
from shared.app import Ctx
from shared.http import ROLE_HEADER

router = APIRouter(tags=["search"])
Role = Annotated[str | None, Header(alias=ROLE_HEADER, include_in_schema=False)]


class SearchHit(BaseModel):
    kind: Kind
    id: str | None = Field(default=None, description="A KB article's or a customer's id")
    number: str | None = Field(default=None, description="A case's number")
    title: str
    snippet: str
    score: float


class SearchResults(BaseModel):
    items: list[SearchHit]


class SimilarCase(CaseRead):
    score: float
    solution: str | None = Field(default=None, description="A resolved or closed case's last public reply")


class SimilarCases(BaseModel):
    items: list[SimilarCase]


def hit(found: repository.Found) -> SearchHit:
    key = {"number": found.key} if found.kind is Kind.CASE else {"id": found.key}
    return SearchHit(kind=found.kind, title=found.title, snippet=found.snippet, score=found.score, **key)


@router.get("/api/v1/search", response_model=SearchResults, response_model_exclude_none=True)
async def search(
    ctx: Ctx,
    access: Viewer,
    q: Annotated[str, Query(min_length=1, max_length=domain.MAX_QUERY_LENGTH, description="Words to find")],
    kind: Annotated[Kind | None, Query(description="Only cases, KB articles or customers")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    role: Role = None,
) -> SearchResults:
    # Staff read internal and unpublished KB articles; customers and unknown callers the FAQ's.
    staff = access.known and role != CUSTOMER_ROLE
    async with ctx.db.sessions() as session:
        found = await repository.search(
            session,
            domain.search_query(q),
            kinds=[kind] if kind else list(Kind),
            access=access,
            kb_visibilities=[v.value for v in Visibility] if staff else [Visibility.PUBLIC.value],
            kb_status=None if staff else KbStatus.PUBLISHED.value,
            postgresql=ctx.db.is_postgresql,
            limit=limit,
        )
    return SearchResults(items=[hit(f) for f in found])


@router.get("/api/v1/cases/{number}/similar", response_model=SimilarCases, tags=["cases"])
async def similar_cases(number: str, ctx: Ctx, access: Viewer) -> SimilarCases:
    """The five cases most like this one that the caller sees, resolved and closed ones first."""
    async with ctx.db.sessions() as session:
        case = await visible_case(session, parse_number(number), access, with_articles=True)
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        similar = await repository.similar_cases(
            session, case, access=access, postgresql=ctx.db.is_postgresql
        )
    return SimilarCases(
        items=[
            SimilarCase(**case_read(s.case).model_dump(), score=s.score, solution=s.solution) for s in similar
        ]
    )
