"""The Alembic environment shared by every service; the caller hands in connection and metadata."""

from alembic import context

config = context.config
connection = config.attributes["connection"]


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Full-text search tables (SQLite FTS5 and their shadow tables) are made by hand-written
    # migrations, not models: autogenerate must not offer to drop them.
    return not (type_ == "table" and reflected and compare_to is None and name is not None and "_fts" in name)


context.configure(
    connection=connection,
    target_metadata=config.attributes["metadata"],
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
