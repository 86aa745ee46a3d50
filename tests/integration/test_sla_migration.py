"""The SLA migration creates exactly the SLA tables the models declare, and its downgrade removes
them, on SQLite and PostgreSQL. Later migrations are not run: only this one is under test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Constraint, Index, Table, inspect

from services.cases.app import MIGRATIONS
from services.cases.models import Base
from services.cases.sla import models  # noqa: F401  (registers the SLA tables on Base)
from shared.db import Database
from shared.migrations import _run, differences, upgrade

SLA = "da14235c149f"
BEFORE = "b673419a0cfb"
TABLES = {"sla_calendar", "sla_policy", "case_sla"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str], tmp_path: Path) -> str:
    return (
        f"sqlite+aiosqlite:///{tmp_path}/cases.db" if request.param == "sqlite" else pg_url_factory("cases")
    )


def table_of(diff: Any) -> str | None:
    """The table an autogenerate difference is about (its shape varies by kind)."""
    if isinstance(diff, list):  # column modifications come as a list of one kind
        return table_of(diff[0])
    subject = diff[1]
    if isinstance(subject, Table):
        return str(subject.name)
    if isinstance(subject, Index | Constraint):
        return str(subject.table.name)
    return str(diff[2])  # ("add_column", schema, table, column), ("modify_type", schema, table, ...)


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_the_migration_matches_the_models_and_goes_back(database_url: str) -> None:
    db = Database(database_url, Base.metadata)
    try:
        await upgrade(db, MIGRATIONS, service="cases", revision=SLA)
        assert TABLES <= await table_names(db)
        ours = [diff for diff in await differences(db) if table_of(diff) in TABLES]
        assert ours == []
        await _run(db, MIGRATIONS, "cases", lambda config: command.downgrade(config, BEFORE))
        assert not TABLES & await table_names(db)
        await upgrade(db, MIGRATIONS, service="cases", revision=SLA)
        assert TABLES <= await table_names(db)
    finally:
        await db.dispose()


def test_table_of_finds_the_table_of_each_kind_of_difference() -> None:
    table = Base.metadata.tables["case_sla"]
    index = next(iter(table.indexes))
    column = table.c.history
    assert table_of(("add_table", table)) == "case_sla"
    assert table_of(("remove_index", index)) == "case_sla"
    assert table_of(("add_column", None, "case_sla", column)) == "case_sla"
    assert table_of([("modify_type", None, "case_sla", "history", {}, None, None)]) == "case_sla"
