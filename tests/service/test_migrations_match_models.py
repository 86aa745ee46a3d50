"""Each service's migrations build exactly the tables its models declare, on both databases:
a column or index added to a model without its migration (or the other way round) fails here."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from allsak.services import NAMES, service
from shared.db import Database
from shared.migrations import differences, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("name", NAMES)
async def test_migrations_match_models(
    name: str, database_kind: str, pg_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    module = service(name)
    importlib.import_module(f"{module.package}.app")  # every model module of the service
    url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db" if database_kind == "sqlite" else pg_url_factory(name)
    db = Database(url, module.metadata())
    try:
        await upgrade(db, module.migrations, service=name)
        assert await differences(db) == []
    finally:
        await db.dispose()
