"""The full-text indexes and the queries that use them, PostgreSQL and SQLite side by side.

PostgreSQL: GIN indexes over ``to_tsvector`` in ``norwegian`` and ``english`` of the texts in
``PG_DOCUMENTS`` — stored, generated columns for cases and articles, expressions for the rest
(the migrations create them from the same texts: change both or the queries stop using them). The query is ``websearch_to_tsquery`` of the text as typed, bound, never
spliced; for Norwegian it is widened by the stems of its stems, since the bokmål stemmer takes
"skriveren" to "skriver" but "skriver" to "skriv". SQLite: FTS5 tables kept by triggers, queried
with each word quoted (``domain.fts5_match``). Each query stops after ``domain.CANDIDATES``
matches and only those are scored (``ts_rank`` / ``bm25``, negated so that higher is better).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import TextualSelect, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cases.search.domain import CANDIDATES, Hit, Query, fts5_match

CONFIGS = ("norwegian", "english")
PG_DOCUMENTS = {
    "case": "\"case\".subject || ' ' || coalesce(\"case\".fields_text, '')",
    "article": "article.body_text || ' ' || translate(coalesce(article.search_text, ''), '.', ' ')",
    "kb_article": "kb_article.title || ' ' || kb_article.body_text",
    "customer": "coalesce(customer.name, '')",
    "customer_address": "customer_address.email",
}
VISIBLE_QUEUE = '"case".queue IN :queues'


def customer_visible(column: str) -> str:
    """The rule of customers 360 (``customers.repository.visible_people``): a person is shown to
    a caller who sees one of their cases, or when they have no case at all."""
    theirs = f'SELECT 1 FROM "case" WHERE "case".requester_id = {column}'
    return f'(NOT EXISTS ({theirs}) OR EXISTS ({theirs} AND "case".queue IN :queues))'


def _pg_query(config: str, query: Query) -> str:
    """A tsquery expression over bound parameters only."""
    if query.any_term:
        return (
            "("
            + " || ".join(f"plainto_tsquery('{config}'::regconfig, :t{i})" for i in range(len(query.terms)))
            + ")"
        )
    typed = f"websearch_to_tsquery('{config}'::regconfig, :q)"
    if config != "norwegian":
        return typed
    stems = f"array_to_string(tsvector_to_array(to_tsvector('{config}'::regconfig, :q)), ' ')"
    return f"({typed} || plainto_tsquery('{config}'::regconfig, {stems}))"


# Cases and articles keep their vectors in stored, generated columns (the migration makes them
# from PG_DOCUMENTS); the other texts are small, and their expression indexes suffice.
STORED = {"case": '"case"', "article": "article"}


def pg_vector(document: str, config: str) -> str:
    if document in STORED:
        return f"{STORED[document]}.tsv_{config}"
    return f"to_tsvector('{config}'::regconfig, {PG_DOCUMENTS[document]})"


def _pg_match_and_rank(document: str, query: Query) -> tuple[str, str]:
    vectors = {c: pg_vector(document, c) for c in CONFIGS}
    match = " OR ".join(f"{vectors[c]} @@ {_pg_query(c, query)}" for c in CONFIGS)
    score = "greatest(" + ", ".join(f"ts_rank({vectors[c]}, {_pg_query(c, query)})" for c in CONFIGS) + ")"
    return f"({match})", score


def _params(query: Query, postgresql: bool) -> dict[str, Any]:
    if not postgresql:
        return {"match": fts5_match(query)}
    if query.any_term:
        return {f"t{i}": term for i, term in enumerate(query.terms)}
    return {"q": query.text}


async def _hits(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> list[Hit]:
    statement = text(sql)
    if "queues" in params:
        statement = statement.bindparams(bindparam("queues", expanding=True))
    if "visibilities" in params:
        statement = statement.bindparams(bindparam("visibilities", expanding=True))
    rows = await session.execute(statement, dict(params))
    return [Hit(key=row.key, source=row.source, score=float(row.score or 0.0)) for row in rows]


async def case_hits(
    session: AsyncSession,
    query: Query,
    *,
    postgresql: bool,
    queues: Collection[str] | None,
    exclude_case_id: str | None = None,
) -> list[Hit]:
    """Matches in case subjects (source None) and article texts (source: the article), only on
    cases in ``queues`` (None: every queue). The access filter is inside the bounded query, so
    hidden cases never use up the candidates."""
    where = ""
    params = _params(query, postgresql)
    if queues is not None:
        where += f" AND {VISIBLE_QUEUE}"
        params["queues"] = sorted(queues)
    if exclude_case_id is not None:
        where += ' AND "case".id != :exclude'
        params["exclude"] = exclude_case_id
    if not postgresql:
        sql = (
            "SELECT case_fts.case_id AS key, case_fts.article_id AS source, "
            "-bm25(case_fts, 0, 0, 2.0, 1.0) AS score "
            'FROM case_fts JOIN "case" ON "case".id = case_fts.case_id '
            f"WHERE case_fts MATCH :match{where} LIMIT {CANDIDATES}"
        )
        return await _hits(session, sql, params)
    subject, subject_score = _pg_match_and_rank("case", query)
    body, body_score = _pg_match_and_rank("article", query)
    subjects = (
        f'SELECT "case".id AS key, NULL AS source, 2 * {subject_score} AS score FROM "case" '
        f"WHERE {subject}{where} LIMIT {CANDIDATES}"
    )
    articles = (
        f"SELECT article.case_id AS key, article.id AS source, {body_score} AS score "
        f'FROM article JOIN "case" ON "case".id = article.case_id WHERE {body}{where} LIMIT {CANDIDATES}'
    )
    return await _hits(session, subjects, params) + await _hits(session, articles, params)


def matching_cases(query: Query, *, postgresql: bool) -> TextualSelect:
    """Ids of every case whose subject or an article matches, to narrow a list: unbounded, since
    the list's own order and page size bound what is read, and the indexes find the matches."""
    params = _params(query, postgresql)
    if not postgresql:
        sql = "SELECT case_fts.case_id AS id FROM case_fts WHERE case_fts MATCH :match"
    else:
        subject, _ = _pg_match_and_rank("case", query)
        body, _ = _pg_match_and_rank("article", query)
        sql = f'SELECT "case".id AS id FROM "case" WHERE {subject} UNION SELECT article.case_id FROM article WHERE {body}'
    return text(sql).bindparams(**params).columns(column("id"))


async def kb_hits(
    session: AsyncSession,
    query: Query,
    *,
    postgresql: bool,
    visibilities: Collection[str],
    status: str | None,
) -> list[Hit]:
    """Matches in KB articles of the given visibilities (and status, when given)."""
    params = _params(query, postgresql) | {"visibilities": sorted(visibilities)}
    where = " AND kb_article.visibility IN :visibilities"
    if status is not None:
        where += " AND kb_article.status = :status"
        params["status"] = status
    if not postgresql:
        sql = (
            "SELECT kb_article_fts.kb_article_id AS key, NULL AS source, "
            "-bm25(kb_article_fts, 0, 2.0, 1.0) AS score "
            "FROM kb_article_fts JOIN kb_article ON kb_article.id = kb_article_fts.kb_article_id "
            f"WHERE kb_article_fts MATCH :match{where} LIMIT {CANDIDATES}"
        )
        return await _hits(session, sql, params)
    match, score = _pg_match_and_rank("kb_article", query)
    sql = (
        f"SELECT kb_article.id AS key, NULL AS source, {score} AS score FROM kb_article "
        f"WHERE {match}{where} LIMIT {CANDIDATES}"
    )
    return await _hits(session, sql, params)


async def customer_hits(
    session: AsyncSession, query: Query, *, postgresql: bool, queues: Collection[str] | None
) -> list[Hit]:
    """Matches in customers' names (source None) and addresses (source: the address), only of
    customers who asked in ``queues`` (None: all customers)."""
    params = _params(query, postgresql)
    if queues is not None:
        params["queues"] = sorted(queues)
    if not postgresql:
        where = f" AND {customer_visible('customer_fts.customer_id')}" if queues is not None else ""
        sql = (
            "SELECT customer_fts.customer_id AS key, customer_fts.address_key AS source, "
            "-bm25(customer_fts, 0, 0, 2.0, 1.0) AS score "
            f"FROM customer_fts WHERE customer_fts MATCH :match{where} LIMIT {CANDIDATES}"
        )
        return await _hits(session, sql, params)
    name, name_score = _pg_match_and_rank("customer", query)
    address, address_score = _pg_match_and_rank("customer_address", query)
    names = (
        f"SELECT customer.id AS key, NULL AS source, {name_score} AS score FROM customer WHERE {name}"
        + (f" AND {customer_visible('customer.id')}" if queues is not None else "")
        + f" LIMIT {CANDIDATES}"
    )
    addresses = (
        "SELECT customer_address.customer_id AS key, customer_address.email AS source, "
        f"{address_score} AS score FROM customer_address WHERE {address}"
        + (f" AND {customer_visible('customer_address.customer_id')}" if queues is not None else "")
        + f" LIMIT {CANDIDATES}"
    )
    return await _hits(session, names, params) + await _hits(session, addresses, params)
