"""The case query benchmark (tests/bench/case_queries.py) at a tiny size on PostgreSQL, so that it
cannot rot: what it generates, and that every query it times answers with results. No timings."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from tests.bench.case_queries import (
    AGENTS_PER_GROUP,
    DEPARTMENTS,
    QUERIES,
    RARE_WORDS,
    autocommit,
    generate,
    measure,
)

CASES = 1500


async def test_generates_the_cases_and_every_query_finds_some(pg_url_factory: Callable[[str], str]) -> None:
    url = pg_url_factory("bench")
    generated = await generate(url, CASES)

    counts = generated.counts
    assert counts["case"] == CASES
    assert CASES < counts["article"] <= 3 * CASES
    assert counts["customer"] == counts["customer_address"] == CASES // 8
    assert counts["rare-word cases"] == len(RARE_WORDS) * len(DEPARTMENTS)
    assert len(generated.agents) == len(DEPARTMENTS) * AGENTS_PER_GROUP
    async with autocommit(url) as conn:
        statuses = set(await conn.scalars(text('SELECT DISTINCT status_category FROM "case"')))
        indexes = set(
            await conn.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'article'"))
        )
        counter = await conn.scalar(text("SELECT value FROM counter WHERE name = 'case'"))
    assert statuses == {
        "new",
        "open",
        "waiting_for_customer",
        "waiting_for_third_party",
        "resolved",
        "closed",
    }
    # The load drops the indexes that back no constraint; they must all be back, GIN ones included.
    assert {"ix_article_case_id_seq", "ix_article_search_norwegian", "ix_article_search_english"} <= indexes
    assert counter == 10000 + CASES

    timings = await measure(url, generated, repeat=3, explain=True)

    assert set(timings) == set(QUERIES)
    for name, timing in timings.items():
        assert len(timing.ms) == 3, name
        assert min(timing.results) >= 1, f"{name} answered with nothing: {timing.results}"
        assert "Execution Time" in timing.plan, name
