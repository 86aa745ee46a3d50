"""case fields in search

Revision ID: 3b9e61f0c2d4
Revises: f0aeae504541
Create Date: 2026-11-26 18:00:00

A case's custom field values are searched with its subject: ``case.fields_text`` holds their
words (kept by the cases service), the PostgreSQL expression indexes on the case cover it, and
the SQLite FTS row of the case carries it as its body. Cases registered before this revision
have no words yet; they get them at their next change of fields.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3b9e61f0c2d4'
down_revision: str | None = 'f0aeae504541'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIGS = ("norwegian", "english")
# The same text as search/index.py's PG_DOCUMENTS["case"] (tests/unit/test_search_domain.py).
PG_CASE_DOCUMENT = "\"case\".subject || ' ' || coalesce(\"case\".fields_text, '')"
PG_CASE_DOCUMENT_BEFORE = '"case".subject'

SQLITE_CASE_TRIGGERS = [
    'CREATE TRIGGER case_fts_case_insert AFTER INSERT ON "case" BEGIN '
    "INSERT INTO case_fts (case_id, article_id, subject, body) "
    "VALUES (NEW.id, NULL, NEW.subject, coalesce(NEW.fields_text, '')); END",
    'CREATE TRIGGER case_fts_case_update AFTER UPDATE OF subject, fields_text ON "case" BEGIN '
    "DELETE FROM case_fts WHERE case_id = OLD.id AND article_id IS NULL; "
    "INSERT INTO case_fts (case_id, article_id, subject, body) "
    "VALUES (NEW.id, NULL, NEW.subject, coalesce(NEW.fields_text, '')); END",
]
SQLITE_CASE_TRIGGERS_BEFORE = [
    'CREATE TRIGGER case_fts_case_insert AFTER INSERT ON "case" BEGIN '
    "INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.id, NULL, NEW.subject, ''); END",
    'CREATE TRIGGER case_fts_case_update AFTER UPDATE OF subject ON "case" BEGIN '
    "DELETE FROM case_fts WHERE case_id = OLD.id AND article_id IS NULL; "
    "INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.id, NULL, NEW.subject, ''); END",
]


def _case_search(document: str, triggers: list[str]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for config in CONFIGS:
            op.execute(f"DROP INDEX IF EXISTS ix_case_search_{config}")
            op.execute(
                f'CREATE INDEX ix_case_search_{config} ON "case" '
                f"USING gin (to_tsvector('{config}'::regconfig, {document}))"
            )
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS case_fts_case_insert")
        op.execute("DROP TRIGGER IF EXISTS case_fts_case_update")
        for statement in triggers:
            op.execute(statement)


def upgrade() -> None:
    # Added, never rebuilt: SQLite keeps the table and the full-text triggers on it.
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fields_text', sa.Text(), nullable=True))
    _case_search(PG_CASE_DOCUMENT, SQLITE_CASE_TRIGGERS)


def downgrade() -> None:
    _case_search(PG_CASE_DOCUMENT_BEFORE, SQLITE_CASE_TRIGGERS_BEFORE)
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('fields_text')
