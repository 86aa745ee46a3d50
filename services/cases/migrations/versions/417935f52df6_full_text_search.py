"""full-text search

Revision ID: 417935f52df6
Revises: 84a24a7344ad
Create Date: 2026-11-26 16:14:29.215612

PostgreSQL: expression GIN indexes over ``to_tsvector`` in the ``norwegian`` and ``english``
configurations (they index the rows that exist, and PostgreSQL keeps them current: no triggers).
The expressions must stay identical to ``services/cases/search/index.py`` or queries stop using
them (``tests/unit/test_search_domain.py`` compares them).

SQLite: FTS5 tables filled from the rows that exist and kept current by triggers; the tokenizer
keeps æ, ø and å as letters (``remove_diacritics 0``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "417935f52df6"
down_revision: str | None = "84a24a7344ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index name stem, table, indexed text): the same text as search/index.py's PG_DOCUMENTS.
PG_DOCUMENTS = [
    ("case", '"case"', '"case".subject'),
    (
        "article",
        "article",
        "article.body_text || ' ' || translate(coalesce(article.search_text, ''), '.', ' ')",
    ),
    ("kb_article", "kb_article", "kb_article.title || ' ' || kb_article.body_text"),
    ("customer", "customer", "coalesce(customer.name, '')"),
    ("customer_address", "customer_address", "customer_address.email"),
]
CONFIGS = ("norwegian", "english")
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0'"
ARTICLE_TEXT = "NEW.body_text || ' ' || coalesce(NEW.search_text, '')"

SQLITE_UP = [
    f"CREATE VIRTUAL TABLE case_fts USING fts5(case_id UNINDEXED, article_id UNINDEXED, subject, body, {TOKENIZE})",
    "INSERT INTO case_fts (case_id, article_id, subject, body) SELECT id, NULL, subject, '' FROM \"case\"",
    "INSERT INTO case_fts (case_id, article_id, subject, body) "
    "SELECT case_id, id, '', body_text || ' ' || coalesce(search_text, '') FROM article",
    'CREATE TRIGGER case_fts_case_insert AFTER INSERT ON "case" BEGIN '
    "INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.id, NULL, NEW.subject, ''); END",
    'CREATE TRIGGER case_fts_case_update AFTER UPDATE OF subject ON "case" BEGIN '
    "DELETE FROM case_fts WHERE case_id = OLD.id AND article_id IS NULL; "
    "INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.id, NULL, NEW.subject, ''); END",
    'CREATE TRIGGER case_fts_case_delete AFTER DELETE ON "case" BEGIN '
    "DELETE FROM case_fts WHERE case_id = OLD.id AND article_id IS NULL; END",
    "CREATE TRIGGER case_fts_article_insert AFTER INSERT ON article BEGIN "
    f"INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.case_id, NEW.id, '', {ARTICLE_TEXT}); END",
    "CREATE TRIGGER case_fts_article_update AFTER UPDATE OF case_id, body_text, search_text ON article BEGIN "
    "DELETE FROM case_fts WHERE article_id = OLD.id; "
    f"INSERT INTO case_fts (case_id, article_id, subject, body) VALUES (NEW.case_id, NEW.id, '', {ARTICLE_TEXT}); END",
    "CREATE TRIGGER case_fts_article_delete AFTER DELETE ON article BEGIN "
    "DELETE FROM case_fts WHERE article_id = OLD.id; END",
    f"CREATE VIRTUAL TABLE kb_article_fts USING fts5(kb_article_id UNINDEXED, title, body, {TOKENIZE})",
    "INSERT INTO kb_article_fts (kb_article_id, title, body) SELECT id, title, body_text FROM kb_article",
    "CREATE TRIGGER kb_article_fts_insert AFTER INSERT ON kb_article BEGIN "
    "INSERT INTO kb_article_fts (kb_article_id, title, body) VALUES (NEW.id, NEW.title, NEW.body_text); END",
    "CREATE TRIGGER kb_article_fts_update AFTER UPDATE OF title, body_text ON kb_article BEGIN "
    "DELETE FROM kb_article_fts WHERE kb_article_id = OLD.id; "
    "INSERT INTO kb_article_fts (kb_article_id, title, body) VALUES (NEW.id, NEW.title, NEW.body_text); END",
    "CREATE TRIGGER kb_article_fts_delete AFTER DELETE ON kb_article BEGIN "
    "DELETE FROM kb_article_fts WHERE kb_article_id = OLD.id; END",
    # One row per customer (its name) and one per address (address_key = the address).
    f"CREATE VIRTUAL TABLE customer_fts USING fts5(customer_id UNINDEXED, address_key UNINDEXED, name, address, {TOKENIZE})",
    "INSERT INTO customer_fts (customer_id, address_key, name, address) SELECT id, NULL, coalesce(name, ''), '' FROM customer",
    "INSERT INTO customer_fts (customer_id, address_key, name, address) SELECT customer_id, email, '', email FROM customer_address",
    "CREATE TRIGGER customer_fts_insert AFTER INSERT ON customer BEGIN "
    "INSERT INTO customer_fts (customer_id, address_key, name, address) VALUES (NEW.id, NULL, coalesce(NEW.name, ''), ''); END",
    "CREATE TRIGGER customer_fts_update AFTER UPDATE OF name ON customer BEGIN "
    "DELETE FROM customer_fts WHERE customer_id = OLD.id AND address_key IS NULL; "
    "INSERT INTO customer_fts (customer_id, address_key, name, address) VALUES (NEW.id, NULL, coalesce(NEW.name, ''), ''); END",
    "CREATE TRIGGER customer_fts_delete AFTER DELETE ON customer BEGIN "
    "DELETE FROM customer_fts WHERE customer_id = OLD.id AND address_key IS NULL; END",
    "CREATE TRIGGER customer_fts_address_insert AFTER INSERT ON customer_address BEGIN "
    "INSERT INTO customer_fts (customer_id, address_key, name, address) VALUES (NEW.customer_id, NEW.email, '', NEW.email); END",
    "CREATE TRIGGER customer_fts_address_update AFTER UPDATE OF email, customer_id ON customer_address BEGIN "
    "DELETE FROM customer_fts WHERE address_key = OLD.email; "
    "INSERT INTO customer_fts (customer_id, address_key, name, address) VALUES (NEW.customer_id, NEW.email, '', NEW.email); END",
    "CREATE TRIGGER customer_fts_address_delete AFTER DELETE ON customer_address BEGIN "
    "DELETE FROM customer_fts WHERE address_key = OLD.email; END",
]
SQLITE_TRIGGERS = [
    "case_fts_case_insert",
    "case_fts_case_update",
    "case_fts_case_delete",
    "case_fts_article_insert",
    "case_fts_article_update",
    "case_fts_article_delete",
    "kb_article_fts_insert",
    "kb_article_fts_update",
    "kb_article_fts_delete",
    "customer_fts_insert",
    "customer_fts_update",
    "customer_fts_delete",
    "customer_fts_address_insert",
    "customer_fts_address_update",
    "customer_fts_address_delete",
]
SQLITE_TABLES = ["case_fts", "kb_article_fts", "customer_fts"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, document in PG_DOCUMENTS:
            for config in CONFIGS:
                op.execute(
                    f"CREATE INDEX ix_{name}_search_{config} ON {table} "
                    f"USING gin (to_tsvector('{config}'::regconfig, {document}))"
                )
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in PG_DOCUMENTS:
            for config in CONFIGS:
                op.execute(f"DROP INDEX IF EXISTS ix_{name}_search_{config}")
    elif op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for table in SQLITE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table}")
