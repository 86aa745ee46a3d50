"""Queries of knowledge; lists are pages in a fixed order, continued after the previous page's key."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.knowledge import domain
from services.cases.knowledge.domain import CursorValue
from services.cases.knowledge.models import (
    InfoBoardEntry,
    InfoBoardEntryOrganisation,
    KbArticle,
    KbArticleTag,
    StandardSolution,
)
from services.cases.models import Article, Case, Organisation

T = TypeVar("T")


@dataclass(frozen=True)
class Order:
    """A total order for keyset pages: the sort columns, ending with the primary key."""

    columns: tuple[Any, ...]
    kinds: tuple[type[str] | type[datetime], ...]
    key: Callable[[Any], list[CursorValue]]
    descending: bool = False


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _after(order: Order, values: Sequence[CursorValue]) -> ColumnElement[bool]:
    """Rows after ``values`` in ``order``, spelled out (row values compare differently on NULLs)."""
    clauses = []
    for i, column in enumerate(order.columns):
        beyond = column < values[i] if order.descending else column > values[i]
        clauses.append(and_(*(c == v for c, v in zip(order.columns[:i], values[:i], strict=True)), beyond))
    return or_(*clauses)


async def _page(
    session: AsyncSession, query: Select[Any], order: Order, cursor: str | None, limit: int
) -> Page[Any]:
    if cursor:
        query = query.where(_after(order, domain.decode_cursor(cursor, order.kinds)))
    directed = [c.desc() if order.descending else c.asc() for c in order.columns]
    rows = list(await session.scalars(query.order_by(*directed).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, domain.encode_cursor(order.key(rows[-1])) if more else None)


# ---- KB articles ----

NEWEST_FIRST = Order(
    columns=(KbArticle.created_at, KbArticle.id),
    kinds=(datetime, str),
    key=lambda a: [a.created_at, a.id],
    descending=True,
)
# The FAQ by category (none first), then title.
FAQ_ORDER = Order(
    columns=(func.coalesce(KbArticle.category, ""), KbArticle.title, KbArticle.id),
    kinds=(str, str, str),
    key=lambda a: [a.category or "", a.title, a.id],
)


def _kb_query(filters: domain.KbSelection) -> Select[KbArticle]:
    query = select(KbArticle).where(KbArticle.visibility.in_(list(filters.visibilities)))
    for column, value in (
        (KbArticle.status, filters.status),
        (KbArticle.category, filters.category),
        (KbArticle.lang, filters.lang),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.tag:
        tag = domain.normalise_tags([filters.tag])[0]
        tagged = select(KbArticleTag.kb_article_id).where(KbArticleTag.tag == tag)
        query = query.where(KbArticle.id.in_(tagged))
    if filters.text:
        # A substring match until full-text search lands with the search issue.
        pattern = f"%{filters.text.lower()}%"
        query = query.where(
            or_(func.lower(KbArticle.title).like(pattern), func.lower(KbArticle.body_text).like(pattern))
        )
    return query


async def list_kb_articles(
    session: AsyncSession, filters: domain.KbSelection, *, cursor: str | None, limit: int
) -> Page[KbArticle]:
    return await _page(session, _kb_query(filters), NEWEST_FIRST, cursor, limit)


async def list_faq(
    session: AsyncSession, filters: domain.KbSelection, *, cursor: str | None, limit: int
) -> Page[KbArticle]:
    return await _page(session, _kb_query(filters), FAQ_ORDER, cursor, limit)


async def kb_article(
    session: AsyncSession, kb_article_id: str, *, for_update: bool = False
) -> KbArticle | None:
    """``for_update``: lock the row, so that two edits of one version cannot both pass If-Match."""
    return await session.get(KbArticle, kb_article_id, with_for_update=for_update)


async def draft_from(session: AsyncSession, source_article_id: str) -> KbArticle | None:
    """The draft already made from this reply, if any (a promotion that is retried)."""
    return await session.scalar(
        select(KbArticle)
        .where(KbArticle.source_article_id == source_article_id, KbArticle.status == domain.KbStatus.DRAFT)
        .limit(1)
    )


# ---- cases, as knowledge reads them ----


async def case_by_number(session: AsyncSession, number: int, *, for_update: bool = False) -> Case | None:
    """``for_update``: lock the case, so that one solution promoted twice at once is one draft."""
    query = select(Case).where(Case.number == number)
    return await session.scalar(query.with_for_update(of=Case) if for_update else query)


async def last_public_reply(session: AsyncSession, case_id: str) -> Article | None:
    """The case's solution: its newest reply that the customer saw."""
    return await session.scalar(
        select(Article)
        .where(Article.case_id == case_id, Article.kind == "reply", Article.internal.is_(False))
        .order_by(Article.created_at.desc(), Article.seq.desc())
        .limit(1)
    )


async def unknown_organisations(session: AsyncSession, ids: Collection[str]) -> list[str]:
    if not ids:
        return []
    found = set(await session.scalars(select(Organisation.id).where(Organisation.id.in_(list(ids)))))
    return sorted(set(ids) - found)


# ---- info board ----

BOARD_ORDER = Order(
    columns=(InfoBoardEntry.valid_from, InfoBoardEntry.id),
    kinds=(datetime, str),
    key=lambda e: [e.valid_from, e.id],
    descending=True,
)


def _board_query(query: domain.BoardQuery, kind: str | None) -> Select[InfoBoardEntry]:
    """``domain.board_shows`` in SQL."""
    select_ = select(InfoBoardEntry)
    if kind is not None:
        select_ = select_.where(InfoBoardEntry.kind == kind)
    if query.at is not None:
        select_ = select_.where(
            InfoBoardEntry.valid_from <= query.at,
            or_(InfoBoardEntry.valid_to.is_(None), InfoBoardEntry.valid_to > query.at),
        )
    if query.audience is not None:
        select_ = select_.where(
            InfoBoardEntry.audience.in_([a.value for a in domain.SHOWN_TO[query.audience]])
        )
    targets = InfoBoardEntryOrganisation.entry_id == InfoBoardEntry.id
    if query.organisation_id is not None:
        mine = exists().where(targets, InfoBoardEntryOrganisation.organisation_id == query.organisation_id)
        select_ = select_.where(or_(~exists().where(targets), mine))
    elif not domain.targeted_shown_without_organisation(query.audience):
        select_ = select_.where(~exists().where(targets))
    return select_


async def list_board(
    session: AsyncSession, query: domain.BoardQuery, *, kind: str | None, cursor: str | None, limit: int
) -> Page[InfoBoardEntry]:
    return await _page(session, _board_query(query, kind), BOARD_ORDER, cursor, limit)


async def board_entry(session: AsyncSession, entry_id: str) -> InfoBoardEntry | None:
    return await session.get(InfoBoardEntry, entry_id)


# ---- standard solutions ----

BY_TITLE = Order(
    columns=(StandardSolution.title, StandardSolution.id),
    kinds=(str, str),
    key=lambda s: [s.title, s.id],
)


async def list_standard_solutions(
    session: AsyncSession,
    *,
    lang: str | None,
    category: str | None,
    active: bool | None,
    cursor: str | None,
    limit: int,
) -> Page[StandardSolution]:
    query = select(StandardSolution)
    if lang is not None:
        query = query.where(StandardSolution.lang == lang)
    if category is not None:
        query = query.where(StandardSolution.category == category)
    if active is not None:
        query = query.where(StandardSolution.active.is_(active))
    return await _page(session, query, BY_TITLE, cursor, limit)


async def standard_solution(session: AsyncSession, solution_id: str) -> StandardSolution | None:
    return await session.get(StandardSolution, solution_id)
