"""Alembic environment: migrates the connection handed over in `config.attributes['connection']`."""

from __future__ import annotations

from alembic import context

from moodboard.catalog.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through moodboard.catalog.store.CatalogStore.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
