"""Fixtures of the conversation suite: the Myntra catalog behind the real HTTP API, built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import load_settings
from tests.conftest import find_data_dir
from tests.conversations.myntra import load_myntra


@pytest.fixture(scope="session")
def myntra_dir() -> Path:
    """The shared data folder holding `myntra/`; skips when absent."""
    found = find_data_dir()
    if found is None or not (found / "myntra" / "catalog.jsonl").is_file():
        pytest.skip(reason="Myntra catalog not found: set MOODBOARD_DATA_DIR to the shared data folder")
    return found


@pytest.fixture(scope="session")
def client(myntra_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An API client over a SQLite store holding the whole Myntra catalog (synthetic prices)."""
    home = tmp_path_factory.mktemp("myntra-home")
    # the suite sends a few hundred requests a minute from one client: lift the per-client rate limit
    settings = load_settings(
        home=home, data_dir=myntra_dir, api={"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000}
    )
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    load_myntra(store, myntra_dir)
    store.close()
    with TestClient(create_app(settings)) as c:
        yield c
