"""stored search vectors for cases and articles

Revision ID: 5e7a1c9d3b21
Revises: 8c2f4d7a9e10
Create Date: 2026-11-26 18:35:00

PostgreSQL only. The case and article texts get stored, generated ``tsv_<config>`` columns
and their GIN indexes replace the expression indexes: a query that checks rows one by one (a
common word in an agent's queues) then compares stored vectors instead of computing
``to_tsvector`` twice per row (tests/bench/case_queries.py shows it). The columns are not in
the models: PostgreSQL keeps them, nothing writes them (``shared.migrations.include_object``).
SQLite keeps its FTS5 tables.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5e7a1c9d3b21'
down_revision: str | None = '8c2f4d7a9e10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIGS = ("norwegian", "english")
# The same texts as search/index.py's PG_DOCUMENTS (tests/unit/test_search_domain.py).
STORED_DOCUMENTS = {
    "case": ('"case"', "\"case\".subject || ' ' || coalesce(\"case\".fields_text, '')"),
    "article": ("article", "article.body_text || ' ' || translate(coalesce(article.search_text, ''), '.', ' ')"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, document) in STORED_DOCUMENTS.items():
        columns = ", ".join(
            f"ADD COLUMN tsv_{config} tsvector GENERATED ALWAYS AS (to_tsvector('{config}'::regconfig, {document})) STORED"
            for config in CONFIGS
        )
        op.execute(f"ALTER TABLE {table} {columns}")  # one rewrite of the table for both
        for config in CONFIGS:
            op.execute(f"DROP INDEX IF EXISTS ix_{name}_search_{config}")
            op.execute(f"CREATE INDEX ix_{name}_search_{config} ON {table} USING gin (tsv_{config})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, document) in STORED_DOCUMENTS.items():
        for config in CONFIGS:
            op.execute(f"DROP INDEX IF EXISTS ix_{name}_search_{config}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN tsv_{config}")
            op.execute(
                f"CREATE INDEX ix_{name}_search_{config} ON {table} "
                f"USING gin (to_tsvector('{config}'::regconfig, {document}))"
            )
