"""The search migration indexes rows that existed before it ran, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import column, insert, table, text

from services.cases.app import MIGRATIONS
from services.cases.models import Article, Base, Customer, CustomerAddress
from services.cases.search import domain, index
from shared.db import Database
from shared.migrations import upgrade

BEFORE = "84a24a7344ad"
OLD_CASE = table("case", *(column(name) for name in ("id", "number", "subject", "status", "type", "queue",
    "priority", "channel", "requester_id", "created_at", "updated_at")))  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str], tmp_path: Path) -> str:
    return (
        f"sqlite+aiosqlite:///{tmp_path}/cases.db" if request.param == "sqlite" else pg_url_factory("cases")
    )


async def test_rows_from_before_the_migration_are_found(database_url: str) -> None:
    db = Database(database_url, Base.metadata)
    try:
        await upgrade(db, MIGRATIONS, service="cases", revision=BEFORE)
        now = datetime.now(UTC)
        async with db.uow() as uow:
            uow.session.add(Customer(id="c1", email="ola@kunde.no", name="Ola Nordmann", created_at=now))
            uow.session.add(CustomerAddress(email="ola@kunde.no", customer_id="c1", created_at=now))
            await uow.session.flush()
            # A table of only the columns the old schema has (later migrations add more to case).
            await uow.session.execute(insert(OLD_CASE).values(id="k1", number=1, subject="Gammel skriver", status="new",
                type="incident", queue="IT", priority="normal", channel="api", requester_id="c1", created_at=now,
                updated_at=now))  # fmt: skip
            uow.session.add(Article(id="a1", seq=1, case_id="k1", kind="mail", channel="api",
                                    body_text="blåskjerm", search_text="vedlegg.pdf", created_at=now))  # fmt: skip
            await uow.commit()
        await upgrade(db, MIGRATIONS, service="cases")
        async with db.sessions() as session:
            for words, source in (("gammel", None), ("blåskjerm", "a1"), ("vedlegg", "a1")):
                hits = await index.case_hits(
                    session, domain.search_query(words), postgresql=db.is_postgresql, queues=None
                )
                assert [(h.key, h.source) for h in hits] == [("k1", source)], words
            hits = await index.customer_hits(
                session, domain.search_query("nordmann"), postgresql=db.is_postgresql, queues=None
            )
            assert [h.key for h in hits] == ["c1"]
            if db.is_postgresql:
                await session.execute(text("SET enable_seqscan = off"))
                vector = index.pg_vector("article", "norwegian")
                query = f"EXPLAIN SELECT 1 FROM article WHERE {vector} @@ plainto_tsquery('norwegian', 'x')"
                plan = await session.execute(text(query))
                assert "ix_article_search_norwegian" in " ".join(row[0] for row in plan)
    finally:
        await db.dispose()
