"""Alembic environment: runs against the connection andon hands it (see andon.store.migrate)."""

from __future__ import annotations

from alembic import context

from andon.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - andon always passes a connection
    raise RuntimeError("run migrations through `andon db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
