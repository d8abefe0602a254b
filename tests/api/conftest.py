"""API fixtures: an app on the tiny catalog with operator keys, and shopper tokens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.core.settings import Settings, load_settings

OPERATOR_KEY = "operator-key-0123456789abcdef"


@pytest.fixture
def secure_settings(tmp_path: Path) -> Settings:
    """Production-like settings: operator keys, a secret, no dev mode, a small rate limit."""
    return load_settings(
        home=tmp_path / "home",
        ingest={"batch_size": 8, "workers": 1},
        embed={"backend": "fake", "dim": 32},
        api={
            "dev_mode": False,
            "api_keys": [OPERATOR_KEY],
            "secret_key": "s" * 40,
            "rate_limit_per_minute": 60,
            "rate_limit_burst": 200,
            "max_upload_bytes": 200_000,
            "max_upload_pixels": 1_000_000,
        },
    )


@pytest.fixture
def secure_client(secure_settings: Settings, tiny_catalog: Path) -> TestClient:
    """A client of the secured app with the tiny catalog ingested and indexed (as `moodboard index` does)."""
    from moodboard.embed.fake import FakeEmbedder
    from moodboard.jobs.index_job import run_index_job

    app = create_app(secure_settings)
    store = app.state.services.store
    Ingestor(store, secure_settings.ingest, secure_settings.thumbnails_dir, secure_settings.home / "r.jsonl").run(
        open_source(tiny_catalog)
    )
    run_index_job(secure_settings, store, FakeEmbedder(dim=32))
    return TestClient(app)


@pytest.fixture
def shopper_headers(secure_client: TestClient) -> Callable[[str], dict[str, str]]:
    """Make bearer headers for a shopper (created through the operator token route)."""

    def make(user: str) -> dict[str, str]:
        r = secure_client.post("/auth/token", json={"user": user}, headers={"X-API-Key": OPERATOR_KEY})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    return make
