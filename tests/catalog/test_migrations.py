"""The Alembic revisions build exactly the schema of `catalog/tables.py`, on SQLite and PostgreSQL, and
revision 0002 (assistant sessions, events by session) upgrades a catalog that already has events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from moodboard.catalog.engine import MIGRATIONS_DIR, make_engine, migrate
from moodboard.catalog.store import CatalogStore
from moodboard.catalog.tables import Base
from moodboard.core.records import Event, EventType


def _alembic(engine: object, *args: str, up: bool = True) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:  # type: ignore[attr-defined]
        cfg.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(cfg, *args)


def test_migrations_match_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_0002_upgrades_a_catalog_with_events_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    _alembic(engine, "0001")
    now = datetime.now(UTC)
    with engine.begin() as conn:  # a catalog written by the previous release: one user, pin and event
        conn.execute(text("INSERT INTO users (external_id, name) VALUES ('ann', 'Ann')"))
        conn.execute(
            text("INSERT INTO pins (external_id, title, description, attributes) VALUES ('p1', 'pin', '', '{}')")
        )
        conn.execute(
            text("INSERT INTO events (user_id, pin_id, type, ts, context) VALUES (1, 1, 'save', :t, '{}')"), {"t": now}
        )
    engine.dispose()
    store = CatalogStore.open(db_url)  # upgrades to head
    events = [e for batch in store.iter_events() for e in batch]
    assert [(e.user_id, e.pin_id, e.type) for e in events] == [(1, 1, EventType.SAVE)]
    sid = "a" * 32
    store.add_events([Event(1, 1, EventType.CLICK, now, {"session_id": sid})])
    assert [e.type for e in store.session_events(sid, 1)] == [EventType.CLICK]
    store.close()
    engine = make_engine(db_url)
    _alembic(engine, "0001", up=False)
    _alembic(engine, "head")
    engine.dispose()


def test_the_session_expiry_sweep_reads_an_index_not_the_table(tmp_path: Path) -> None:
    # the sweep asks for sessions idle past the time to live every minute in every worker: without an
    # index on updated_at it scanned every stored session (revision 0003)
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text("EXPLAIN QUERY PLAN SELECT id, actor_id FROM assistant_sessions WHERE updated_at < :t LIMIT 500"),
                {"t": datetime.now(UTC)},
            )
        )
    engine.dispose()
    assert "ix_assistant_sessions_updated_at" in plan, plan
