"""Search use cases over one read session: index hits, ranked, then the rows of the best ones."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.domain.access import Access
from services.cases.domain.statuses import DONE
from services.cases.knowledge.models import KbArticle
from services.cases.models import Article, Case, Customer, CustomerAddress
from services.cases.search import domain, index
from services.cases.search.domain import Kind, Query, Ranked

DONE_STATUSES = frozenset(s.value for s in DONE)


@dataclass(frozen=True)
class Found:
    kind: Kind
    key: str  # a case's number, a KB article's or a customer's id
    title: str
    snippet: str
    score: float


@dataclass(frozen=True)
class Similar:
    case: Case
    score: float
    solution: str | None


async def search(
    session: AsyncSession,
    query: Query,
    *,
    kinds: Collection[Kind],
    access: Access,
    kb_visibilities: Collection[str],
    kb_status: str | None,
    postgresql: bool,
    limit: int,
) -> list[Found]:
    """The best ``limit`` matches of each kind asked for, merged by score: cases in queues the
    caller sees, KB articles of the visibilities (and status) it may read, customers for known
    staff, and of those only the customers who asked in a queue the caller sees."""
    if not query.terms:
        return []
    found: list[Found] = []
    if Kind.CASE in kinds and access.queues != frozenset():
        hits = await index.case_hits(session, query, postgresql=postgresql, queues=access.queues)
        found += await _cases(session, domain.rank(hits)[:limit], query)
    if Kind.KB in kinds and kb_visibilities:
        hits = await index.kb_hits(
            session, query, postgresql=postgresql, visibilities=kb_visibilities, status=kb_status
        )
        found += await _kb_articles(session, domain.rank(hits)[:limit], query)
    if Kind.CUSTOMER in kinds and access.known and access.queues != frozenset():
        hits = await index.customer_hits(session, query, postgresql=postgresql, queues=access.queues)
        found += await _customers(session, domain.rank(hits)[:limit], query)
    return sorted(found, key=lambda f: -f.score)[:limit]


async def similar_cases(
    session: AsyncSession, case: Case, *, access: Access, postgresql: bool
) -> list[Similar]:
    """The most similar cases the caller sees by the case's subject and first text, resolved and
    closed ones first, each with its solution (its last public reply)."""
    first = case.articles[0].body_text if case.articles else ""
    query = domain.similar_query(case.subject, first)
    if not query.terms or access.queues == frozenset():
        return []
    hits = await index.case_hits(
        session, query, postgresql=postgresql, queues=access.queues, exclude_case_id=case.id
    )
    best = domain.rank(hits)[: domain.SIMILAR_CASES]
    cases = {c.id: c for c in await session.scalars(select(Case).where(Case.id.in_([r.key for r in best])))}
    done = {key for key, c in cases.items() if c.status_category in DONE_STATUSES}
    solutions = await _solutions(session, list(done))
    return [
        Similar(case=cases[r.key], score=r.score, solution=solutions.get(r.key))
        for r in domain.done_first(best, done)
        if r.key in cases
    ]


async def _cases(session: AsyncSession, ranked: list[Ranked], query: Query) -> list[Found]:
    cases = {c.id: c for c in await session.scalars(select(Case).where(Case.id.in_([r.key for r in ranked])))}
    sources = [r.source for r in ranked if r.source]
    texts = {
        row.id: f"{row.body_text} {row.search_text or ''}"
        for row in await session.execute(
            select(Article.id, Article.body_text, Article.search_text).where(Article.id.in_(sources))
        )
    }
    return [
        Found(
            kind=Kind.CASE,
            key=str(cases[r.key].number),
            title=cases[r.key].subject,
            snippet=domain.snippet(texts.get(r.source or "", cases[r.key].subject), query.terms),
            score=r.score,
        )
        for r in ranked
        if r.key in cases
    ]


async def _kb_articles(session: AsyncSession, ranked: list[Ranked], query: Query) -> list[Found]:
    rows = await session.execute(
        select(KbArticle.id, KbArticle.title, KbArticle.body_text).where(
            KbArticle.id.in_([r.key for r in ranked])
        )
    )
    articles = {row.id: row for row in rows}
    return [
        Found(
            kind=Kind.KB,
            key=r.key,
            title=articles[r.key].title,
            snippet=domain.snippet(articles[r.key].body_text, query.terms),
            score=r.score,
        )
        for r in ranked
        if r.key in articles
    ]


async def _customers(session: AsyncSession, ranked: list[Ranked], query: Query) -> list[Found]:
    keys = [r.key for r in ranked]
    customers = {c.id: c for c in await session.scalars(select(Customer).where(Customer.id.in_(keys)))}
    addresses: dict[str, list[str]] = {}
    for row in await session.execute(
        select(CustomerAddress.customer_id, CustomerAddress.email)
        .where(CustomerAddress.customer_id.in_(keys))
        .order_by(CustomerAddress.email)
    ):
        addresses.setdefault(row.customer_id, []).append(row.email)
    return [
        Found(
            kind=Kind.CUSTOMER,
            key=r.key,
            title=customers[r.key].name or customers[r.key].email,
            snippet=domain.snippet(", ".join(addresses.get(r.key, [customers[r.key].email])), query.terms),
            score=r.score,
        )
        for r in ranked
        if r.key in customers
    ]


async def _solutions(session: AsyncSession, case_ids: list[str]) -> dict[str, str]:
    """Each case's last reply the customer saw."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(Article.case_id, Article.body_text)
        .where(Article.case_id.in_(case_ids), Article.kind == "reply", Article.internal.is_(False))
        .order_by(Article.created_at, Article.seq)
    )
    return {row.case_id: row.body_text for row in rows}  # the last one per case wins
