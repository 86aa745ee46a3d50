"""The Alembic environment shared by every service; the caller hands in connection and metadata."""

from alembic import context

from shared.migrations import include_object

config = context.config
connection = config.attributes["connection"]


context.configure(
    connection=connection,
    target_metadata=config.attributes["metadata"],
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
