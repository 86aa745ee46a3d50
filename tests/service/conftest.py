from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, pg_url_factory: Callable[[str], str]) -> str | None:
    """The database a service runs on: None for SQLite in its data dir, or a fresh PostgreSQL one.
    A module may define its own; ``parametrize("database_url", ["postgresql"], indirect=True)``
    picks one."""
    return None if request.param == "sqlite" else pg_url_factory("cases")
