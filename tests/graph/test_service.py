"""The graph job, the live graph (snapshot swap, real-time pull), the HTTP endpoints and the CLI, end to end."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from moodboard.api.app import create_app
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.records import Event, EventType
from moodboard.core.settings import Settings
from moodboard.graph.live import LiveGraph
from moodboard.jobs.graph_job import price_band, run_graph_job

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed_catalog(store: CatalogStore) -> dict[str, Any]:
    """20 'cat' pins and 20 'dog' pins, two boards and two users per side, nothing linking the sides."""
    store.add_pins(
        [NewPin(f"c{i}", f"cat {i}", category="cats", price=Decimal(10 + i)) for i in range(20)]
        + [NewPin(f"d{i}", f"dog {i}", category="dogs", price=Decimal(100 + i)) for i in range(20)]
        + [NewPin("lonely", "never engaged", category="cats")]
    )
    ids = {p.external_id: p.id for batch in store.iter_pins() for p in batch}
    cats = [ids[f"c{i}"] for i in range(20)]
    dogs = [ids[f"d{i}"] for i in range(20)]
    users = {name: store.ensure_user(name).id for name in ("ann", "bob", "dan", "eve", "new")}
    for owner, name, pins in (("ann", "cats a", cats[:12]), ("bob", "cats b", cats[8:]),
                              ("dan", "dogs a", dogs[:12]), ("eve", "dogs b", dogs[8:])):  # fmt: skip
        board = store.create_board(users[owner], name)
        for p in pins:
            store.add_pin_to_board(board.id, p)
    events = [Event(users["ann"], p, EventType.SAVE, T0 + timedelta(minutes=i)) for i, p in enumerate(cats[:6])]
    events += [Event(users["dan"], p, EventType.CLICK, T0 + timedelta(minutes=i)) for i, p in enumerate(dogs[:6])]
    store.add_events(events)
    return {"cats": cats, "dogs": dogs, "users": users, "lonely": ids["lonely"]}


@pytest.fixture
def built(settings: Settings, store: CatalogStore) -> dict[str, Any]:
    cat = seed_catalog(store)
    path, graph = run_graph_job(store, settings)
    return {**cat, "path": path, "graph": graph}


def test_job_builds_graph_with_features(built: dict[str, Any]) -> None:
    g = built["graph"]
    assert g.n_boards == 4 and g.n_edges > 40 and (built["path"] / "manifest.json").is_file()
    assert g.features["category"] == ["cats", "dogs"] and "8-16" in g.features["price_band"]
    assert price_band(12.5) == "8-16" and price_band(None) is None
    ann = int(g.user_index([built["users"]["ann"]])[0])
    assert len(g.history(ann)[0]) == 6


def test_live_graph_pulls_new_events_within_a_second(
    settings: Settings, store: CatalogStore, built: dict[str, Any]
) -> None:
    live = LiveGraph(settings.graph, settings.snapshots_dir, fetch_events=store.iter_events, poll_s=0.2)
    ann = built["users"]["ann"]
    before = [r.pin_id for r in live.feed(ann, 30).items if r.source.startswith("walk")]
    assert before and not set(before) & set(built["dogs"])
    store.add_events([Event(ann, built["dogs"][3], EventType.SAVE, datetime.now(UTC))])
    start = time.perf_counter()
    while time.perf_counter() - start < 1.0:
        feed = live.feed(ann, 30)
        if feed.query_pin_ids and feed.query_pin_ids[0] == built["dogs"][3]:
            break
        time.sleep(0.05)
    assert time.perf_counter() - start < 1.0 and feed.query_pin_ids[0] == built["dogs"][3]


def test_live_graph_swaps_to_a_new_snapshot(settings: Settings, store: CatalogStore, built: dict[str, Any]) -> None:
    live = LiveGraph(settings.graph, settings.snapshots_dir, fetch_events=store.iter_events, poll_s=0.0)
    live.feed(built["users"]["ann"], 5)
    first = live.snapshot
    store.add_events([Event(built["users"]["new"], built["cats"][0], EventType.SAVE, datetime.now(UTC))])
    run_graph_job(store, settings)
    live.feed(built["users"]["ann"], 5)
    assert live.snapshot != first
    assert live.recommender().overlay.events() == []  # the new snapshot already holds that event


def test_live_graph_aligns_the_index_vectors_with_its_pins(settings: Settings, built: dict[str, Any]) -> None:
    import numpy as np

    cats = built["cats"]
    ids = np.array([cats[1], cats[0], 999_999], np.int64)  # unsorted, one pin the graph does not have
    vecs = np.array([[0, 2, 0], [3, 0, 0], [0, 0, 1]], np.float32)
    live = LiveGraph(settings.graph, settings.snapshots_dir, load_vectors=lambda: (ids, vecs))
    rec = live.recommender()
    assert rec.embeddings is not None and rec.embeddings.shape == (rec.graph.n_pins, 3)
    row = {int(p): rec.embeddings[i] for i, p in enumerate(rec.graph.pin_ids)}
    assert row[cats[0]].tolist() == [1, 0, 0] and row[cats[1]].tolist() == [0, 1, 0]  # normalised, aligned
    assert not row[cats[2]].any()  # no vector: a zero row
    assert LiveGraph(settings.graph, settings.snapshots_dir, load_vectors=lambda: None).recommender().embeddings is None


@pytest.fixture
def client(settings: Settings, store: CatalogStore, built: dict[str, Any]) -> TestClient:
    return TestClient(create_app(settings))


def test_related_and_feed_endpoints(client: TestClient, built: dict[str, Any]) -> None:
    cats, dogs = set(built["cats"]), set(built["dogs"])
    r = client.get(f"/pins/{built['cats'][0]}/related", params={"k": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    got = {i["pin_id"] for i in body["items"]}
    assert got and got <= cats and built["cats"][0] not in got
    first = body["items"][0]
    assert first["because"]["query_pin_id"] == built["cats"][0] and first["because"]["via"].startswith(
        ("board:", "user:")
    )
    assert first["pin"]["title"].startswith("cat")
    # the same answer as pin cards (the UI's one shape): same order, card fields, a reason to show
    cards = body["results"]
    assert [c["pin_id"] for c in cards] == [i["pin_id"] for i in body["items"]]
    assert [c["position"] for c in cards] == list(range(1, len(cards) + 1))
    assert cards[0]["title"].startswith("cat") and cards[0]["source"] == first["source"] and cards[0]["why"]
    assert cards[0]["because"] == first["because"]
    feed = client.get(f"/users/{built['users']['dan']}/feed", params={"k": 5, "seed": 1}).json()
    assert {i["pin_id"] for i in feed["items"]} <= dogs and feed["fallback"] is None, feed
    again = client.get(f"/users/{built['users']['dan']}/feed", params={"k": 5, "seed": 1}).json()
    assert [i["pin_id"] for i in again["items"]] == [i["pin_id"] for i in feed["items"]]
    dan = client.post("/auth/token", json={"user": "dan"}).json()["token"]  # dev mode: no operator key needed
    mine = client.get("/me/feed", params={"k": 5, "seed": 1}, headers={"Authorization": f"Bearer {dan}"}).json()
    assert [i["pin_id"] for i in mine["items"]] == [i["pin_id"] for i in feed["items"]]
    assert client.get("/me/feed").status_code == 401


def test_cold_starts_say_so(client: TestClient, built: dict[str, Any]) -> None:
    feed = client.get(f"/users/{built['users']['new']}/feed", params={"k": 5}).json()
    assert "cold-start" in feed["fallback"] and all(i["source"] == "popular" for i in feed["items"])
    rel = client.get(f"/pins/{built['lonely']}/related", params={"k": 5}).json()
    assert rel["fallback"] and len(rel["items"]) == 5


def test_hidden_pin_never_comes_back_over_http(client: TestClient, store: CatalogStore, built: dict[str, Any]) -> None:
    ann = built["users"]["ann"]
    top = [i["pin_id"] for i in client.get(f"/users/{ann}/feed", params={"k": 3}).json()["items"]]
    store.add_events([Event(ann, top[0], EventType.HIDE, datetime.now(UTC))])
    time.sleep(0.6)  # one poll interval
    for seed in range(3):
        items = client.get(f"/users/{ann}/feed", params={"k": 30, "seed": seed}).json()["items"]
        assert top[0] not in [i["pin_id"] for i in items]


def test_bad_input_gets_clear_4xx(client: TestClient, built: dict[str, Any], settings: Settings) -> None:
    assert client.get("/pins/999999/related").status_code == 404
    assert client.get("/users/999999/feed").status_code == 404
    for k in (0, -3, settings.graph.max_k + 1):
        r = client.get(f"/pins/{built['cats'][0]}/related", params={"k": k})
        assert r.status_code == 422 and "k" in r.json()["detail"], r.text
        assert client.get(f"/users/{built['users']['ann']}/feed", params={"k": k}).status_code == 422
    assert client.get("/pins/abc/related").status_code == 422


def test_no_snapshot_is_503(settings: Settings, store: CatalogStore) -> None:
    seed_catalog(store)
    client = TestClient(create_app(settings))
    r = client.get("/users/1/feed")
    assert r.status_code == 503 and "graph build" in r.json()["hint"]


def test_empty_graph_is_a_clear_error(settings: Settings, store: CatalogStore) -> None:
    store.add_pins([NewPin("x", "x")])
    store.ensure_user("u")
    run_graph_job(store, settings)
    r = TestClient(create_app(settings)).get("/users/1/feed")
    assert r.status_code == 409 and "no edges" in r.json()["detail"]


def test_cli_build_and_recommend(settings: Settings, store: CatalogStore) -> None:
    from moodboard.cli.main import build_app

    cat = seed_catalog(store)
    app = build_app()
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    res = runner.invoke(app, [*home, "graph", "build", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["boards"] == 4
    res = runner.invoke(app, [*home, "recommend", "--user", str(cat["users"]["ann"]), "--k", "4", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["items"]) == 4 and all(i["pin_id"] in cat["cats"] for i in out["items"])
    res = runner.invoke(app, [*home, "recommend", "--pin", str(cat["dogs"][0])])
    assert res.exit_code == 0 and "via" in res.output
