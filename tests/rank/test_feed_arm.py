"""A served feed carries the user's experiment arm (issue 14, acceptance 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.records import Event, EventType
from moodboard.core.settings import load_settings
from moodboard.jobs.graph_job import run_graph_job
from moodboard.rank.experiments import assign_arm


def test_feed_response_names_the_arm(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", experiment={"name": "feed-v2"}, api={"warm_up": False})
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    store.add_pins([NewPin(f"p{i}", f"pin {i}") for i in range(3)])
    users = [store.ensure_user(f"u{i}").id for i in range(6)]
    pins = [p.id for batch in store.iter_pins() for p in batch]
    store.add_events([Event(u, pins[u % 3], EventType.SAVE, datetime.now(UTC)) for u in users])
    run_graph_job(store, settings)
    store.close()
    with TestClient(create_app(settings)) as client:
        for user in users:
            body = client.get(f"/users/{user}/feed", params={"k": 2})
            assert body.status_code == 200, body.text
            assert body.json()["arm"] == assign_arm(user, settings.experiment)
        assert {client.get(f"/users/{u}/feed").json()["arm"] for u in users} <= {"control", "treatment"}
    plain = load_settings(home=tmp_path / "home", api={"warm_up": False})
    with TestClient(create_app(plain)) as client:
        assert client.get(f"/users/{users[0]}/feed").json()["arm"] is None  # no experiment running
