"""Shared fixtures: isolated settings and stores (SQLite and PostgreSQL), real-data paths, tiny catalogs."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings, load_settings
from tests.imagegen import COLOURS, SHAPES, make_image

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh home folder and SQLite store under tmp_path."""
    return load_settings(home=tmp_path / "home", ingest={"batch_size": 8, "workers": 1})


@pytest.fixture
def store(settings: Settings) -> Iterator[CatalogStore]:
    """A migrated SQLite catalog store in a temp folder."""
    settings.ensure_home()
    s = CatalogStore.open(settings.database_url)
    yield s
    s.close()


def pg_base_url() -> str | None:
    """The PostgreSQL server URL started by scripts/services.sh, if any."""
    return os.environ.get("MOODBOARD_TEST_PG_URL")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    base = pg_base_url()
    if not base:
        if os.environ.get("MOODBOARD_REQUIRE_PG") == "1":
            pytest.fail("MOODBOARD_REQUIRE_PG=1 but MOODBOARD_TEST_PG_URL is unset: run scripts/services.sh")
        pytest.skip(reason="no PostgreSQL server: run `make services` (scripts/services.sh) to start one")
    import sqlalchemy as sa

    name = f"mb_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def any_store(db_url: str) -> Iterator[CatalogStore]:
    """A migrated store on each supported database."""
    s = CatalogStore.open(db_url)
    yield s
    s.close()


def find_data_dir() -> Path | None:
    """The shared real datasets: MOODBOARD_DATA_DIR, else ../shared/data beside the repo."""
    env = os.environ.get("MOODBOARD_DATA_DIR")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture
def data_dir() -> Path:
    """Path of the shared real datasets; skips when they are absent."""
    found = find_data_dir()
    if found is None:
        pytest.skip(reason="real datasets not found: set MOODBOARD_DATA_DIR to the shared data folder")
    return found


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> Path:
    """A JSONL catalog of 18 generated pins (6 colours x 3 shapes) with prices, in its own folder."""
    root = tmp_path / "tiny"
    (root / "img").mkdir(parents=True)
    rows = []
    for i, (colour, shape) in enumerate((c, s) for c in COLOURS for s in SHAPES):
        name = f"img/{colour}_{shape}.png"
        make_image(root / name, colour, shape)
        rows.append(
            {
                "id": f"p{i:03d}",
                "title": f"{colour.title()} {shape} print",
                "price": 10 + 5 * i,
                "currency": "USD",
                "category": shape,
                "color": colour.title(),
                "image": name,
                "style": "modern" if i % 2 else "classic",
            }
        )
    (root / "catalog.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root / "catalog.jsonl"
