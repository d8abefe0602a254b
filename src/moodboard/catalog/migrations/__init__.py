"""Alembic migrations of the catalog schema, run programmatically by `CatalogStore.migrate`."""
