"""Engagement reaches the live taste graph exactly once, whichever path delivers it first."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings
from moodboard.graph.live import LiveGraph
from moodboard.jobs.graph_job import run_graph_job
from tests.graph.test_service import seed_catalog


def test_one_save_through_post_events_counts_once(settings: Settings, store: CatalogStore) -> None:
    # Regression (issue 17, review 1.2 "Events"): the in-process publish carried id=None, so the store
    # poll applied the same save a second time and UserDelta.positives held it twice.
    cat = seed_catalog(store)
    run_graph_job(store, settings)
    with TestClient(create_app(settings)) as client:
        token = client.post("/auth/token", json={"user": "ann"}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/me/feed", params={"k": 5}, headers=auth).status_code == 200  # graph loaded
        pin = cat["dogs"][3]
        r = client.post("/events", json={"events": [{"pin_id": pin, "type": "save"}]}, headers=auth)
        assert r.status_code == 202, r.text
        live: LiveGraph = client.app.state.services.runtime.graph.get()  # type: ignore[attr-defined]
        for _ in range(3):  # let the store poll run at least twice
            time.sleep(live.poll_s + 0.05)
            assert client.get("/me/feed", params={"k": 5}, headers=auth).status_code == 200
        rec = live.recommender()
        delta = rec.overlay.user_delta(cat["users"]["ann"])
        idx = rec.overlay.pin_index(pin)
        assert [p for p, _, _ in delta.positives].count(idx) == 1, delta.positives
        assert len(rec.overlay) == 1
