"""Alembic migrations per service, run programmatically.

One Alembic environment (``shared/alembic``) serves every service; each service keeps its
own history in ``services/<name>/migrations/versions`` and its own database. On PostgreSQL
an advisory lock makes replicas that start together migrate one after the other.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from shared.db import Database

ENV_DIR = Path(__file__).parent / "alembic"


def alembic_config(db: Database, versions: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENV_DIR))
    config.set_main_option("version_locations", str(versions))
    config.set_main_option("path_separator", "os")
    config.attributes["metadata"] = db.metadata
    return config


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Full-text search is made by hand-written migrations, not models: the SQLite FTS5 tables
    # (and their shadow tables), the PostgreSQL indexes ``ix_<table>_search_<config>`` and the
    # stored vectors ``tsv_<config>``. Autogenerate must not offer to drop them.
    if not reflected or compare_to is not None or name is None:
        return True
    return not (
        (type_ == "table" and "_fts" in name)
        or (type_ == "index" and "_search_" in name)
        or (type_ == "column" and name.startswith("tsv_"))
    )


async def differences(db: Database) -> list[Any]:
    """What autogenerate would write between the migrated database and the models; [] when they agree."""
    async with db.engine.connect() as conn:

        def compare(sync_conn: Any) -> list[Any]:
            context = MigrationContext.configure(
                sync_conn, opts={"compare_type": True, "include_object": include_object}
            )
            return list(compare_metadata(context, db.metadata))

        return await conn.run_sync(compare)


async def upgrade(db: Database, versions: Path, *, service: str, revision: str = "head") -> None:
    await _run(db, versions, service, lambda cfg: command.upgrade(cfg, revision))


async def current(db: Database, versions: Path, *, service: str) -> None:
    await _run(db, versions, service, lambda cfg: command.current(cfg, verbose=True))


async def autogenerate(db: Database, versions: Path, *, service: str, message: str) -> None:
    """Write a new revision with the difference between the models and the migrated database."""
    await upgrade(db, versions, service=service)
    await _run(db, versions, service, lambda cfg: command.revision(cfg, message=message, autogenerate=True))


async def _run(db: Database, versions: Path, service: str, action: Any) -> None:
    config = alembic_config(db, versions)
    lock = zlib.crc32(f"allsak.migrate.{service}".encode())
    async with db.engine.connect() as conn:
        if db.is_postgresql:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock})
        try:

            def sync(sync_conn: Any) -> None:
                config.attributes["connection"] = sync_conn
                action(config)

            await conn.run_sync(sync)
            await conn.commit()
        finally:
            if db.is_postgresql:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock})
                await conn.commit()
