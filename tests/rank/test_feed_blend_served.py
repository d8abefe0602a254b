"""The served feed goes through the one blender: it carries the experiment arm, uses the sequence source
once a sequence snapshot exists, and never serves a hidden pin (issues 14 and 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.records import Event, EventType
from moodboard.core.settings import load_settings
from moodboard.jobs.graph_job import run_graph_job
from moodboard.jobs.ranker_job import run_ranker_job
from moodboard.jobs.sequence_job import read_sequences, run_sequence_job
from moodboard.rank.experiments import assign_arm

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_feed_uses_the_sequence_source_when_a_snapshot_exists_and_carries_the_arm(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home", experiment={"name": "feed-v2"}, api={"warm_up": False},
        sequence={"d_model": 16, "max_len": 8, "epochs": 10},
    )  # fmt: skip
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    # two categories of 6 pins; each user walks 5 steps round one category's cycle, so the walk can reach
    # at most one unseen pin of that category and a 10-pin feed needs other sources
    store.add_pins([NewPin(f"{s}{i}", f"{s} {i}", category=s) for s in ("alpha", "beta") for i in range(6)])
    ids = {p.external_id: p.id for batch in store.iter_pins() for p in batch}
    users, events = [], []
    rng = np.random.default_rng(0)
    for u in range(24):
        user = store.ensure_user(f"u{u}").id
        users.append(user)
        side, start = ("alpha", "beta")[u % 2], int(rng.integers(6))
        for step in range(5):
            events.append(Event(user, ids[f"{side}{(start + step) % 6}"], EventType.SAVE, T0 + timedelta(minutes=step)))
    store.add_events(events)
    run_graph_job(store, settings)
    user = users[0]
    hidden = ids["beta0"]
    with TestClient(create_app(settings)) as client:
        token = client.post("/auth/token", json={"user": "u0"}).json()["token"]  # dev mode: no operator key
        me = {"Authorization": f"Bearer {token}"}
        before = client.get("/me/feed", params={"k": 10}, headers=me).json()
        assert before["arm"] == assign_arm(user, settings.experiment)
        assert "sequence" not in {i["source"] for i in before["items"]}  # no sequence snapshot yet
        run_sequence_job(read_sequences(store, settings.snapshots_dir), settings.sequence, settings.snapshots_dir)
        hide = client.post("/events", json={"events": [{"pin_id": hidden, "type": "hide"}]}, headers=me)
        assert hide.status_code == 202, hide.text  # the one feedback path; applied to the live graph at once
        after = client.get("/me/feed", params={"k": 10}, headers=me)
        assert after.status_code == 200, after.text
        body = after.json()
        assert body["arm"] == assign_arm(user, settings.experiment)
        assert "sequence" in {i["source"] for i in body["items"]}
        assert hidden not in {i["pin_id"] for i in body["items"]}
        assert len(body["items"]) == 6  # 12 pins less the 5 engaged and the hidden one
        seq = client.app.state.services.runtime.feed.get().sequence()  # type: ignore[attr-defined]
        before_save = seq.user_embedding(user).copy()
        saved = client.post("/events", json={"events": [{"pin_id": ids["beta1"], "type": "save"}]}, headers=me)
        assert saved.status_code == 202
        assert not np.allclose(seq.user_embedding(user), before_save)  # updated from the event, not retrained
        feeds = client.app.state.services.runtime.feed.get()  # type: ignore[attr-defined]
        assert feeds.feed(user, 10).ranked_by == "fallback"  # no ranker snapshot yet: the documented weighting
        run_ranker_job(store, settings.ranker, settings.snapshots_dir)
        ranked = feeds.feed(user, 10)
        assert ranked.ranked_by == "ranker" and hidden not in {r.pin_id for r in ranked.items}
        assert client.get("/me/feed", params={"k": 10}, headers=me).json()["arm"] == before["arm"]
        related = client.get(f"/pins/{ids['alpha0']}/related", params={"k": 5, "user_id": user}).json()
        assert hidden not in {i["pin_id"] for i in related["items"]} and len(related["items"]) == 5
    store.close()
