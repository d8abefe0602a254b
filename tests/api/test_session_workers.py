"""Two API workers (two apps, each with its own store and assistant) serving one conversation over one
database, on SQLite and PostgreSQL: no turn is ever lost, duplicated or interleaved.

Regression (issue 17, review 1.4/step 3): sessions were JSON files guarded by a per-process lock, so
two replicas could both load version n and the later save silently dropped the other's turn.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.assistant import engine
from moodboard.assistant.refine import refine
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.errors import ConflictError
from moodboard.core.query import QueryState, Shown, Turn
from moodboard.core.settings import load_settings
from tests.assistant.conftest import make_pins
from tests.homes import index_pins


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps over one catalog database (with the assistant's generated catalog in it)."""
    settings = load_settings(
        home=tmp_path / "home",
        database={"url": db_url},
        embed={"backend": "fake", "dim": 32},
        api={"rate_limit_per_minute": 100_000, "rate_limit_burst": 100_000},
    )
    store = CatalogStore.open(db_url)
    store.add_pins(
        [
            NewPin(p.external_id, p.title, category=p.category, color=p.color, attributes=p.attributes,
                   price=Decimal(str(p.product.price)), currency="USD")
            for p in make_pins()
        ]
    )  # fmt: skip
    index_pins([p for batch in store.iter_pins(batch_size=500) for p in batch], settings.snapshots_dir)
    store.close()
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        yield one, two


def _history(client: TestClient, sid: str) -> dict[str, Any]:
    r = client.get(f"/assistant/sessions/{sid}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _replays(stored: dict[str, Any]) -> bool:
    """Whether refining the stored turns in history order gives the stored state (no lost update)."""
    state = QueryState()
    for entry in stored["history"]:
        turn = Turn.model_validate(entry["turn"])
        state = state if turn.is_noop() else refine(state, turn)
        state = state.model_copy(update={"shown": tuple(Shown(pin_id=p) for p in entry["shown"])})
    final = QueryState.from_dict(stored["state"])
    return state.model_copy(update={"shown": final.shown}) == final


def _meet_at_first_saves(monkeypatch: pytest.MonkeyPatch, conflicts: list[str]) -> None:
    """Make the first two saves (one per worker) wait for each other, so both turns were computed on the
    same stored version before either saves; count the conflicts that saves raise."""
    barrier = threading.Barrier(2)
    calls = itertools.count()
    save = CatalogSessionStore.save

    def meeting_save(self: CatalogSessionStore, session: Any) -> None:
        if next(calls) < 2:
            barrier.wait(timeout=30)
        try:
            save(self, session)
        except ConflictError:
            conflicts.append(session.id)
            raise

    monkeypatch.setattr(CatalogSessionStore, "save", meeting_save)


def test_alternating_workers_keep_every_turn_in_order(workers: tuple[TestClient, TestClient]) -> None:
    one, two = workers
    sid = one.post("/assistant/sessions", json={}).json()["session_id"]
    messages = ["jeans", "not white", "under $50", "for men", "in blue", "more like the first one"]
    for n, msg in enumerate(messages):
        r = (one, two)[n % 2].post(f"/assistant/sessions/{sid}/messages", json={"message": msg})
        assert r.status_code == 200, r.text
    for client in (one, two):  # both workers read the same conversation
        stored = _history(client, sid)
        assert [t["message"] for t in stored["history"]] == messages
        assert stored["version"] == len(messages) and _replays(stored)


def test_a_race_between_workers_is_retried_not_lost(
    workers: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = workers
    sid = one.post("/assistant/sessions", json={}).json()["session_id"]
    assert one.post(f"/assistant/sessions/{sid}/messages", json={"message": "shirts"}).status_code == 200
    conflicts: list[str] = []
    _meet_at_first_saves(monkeypatch, conflicts)
    with ThreadPoolExecutor(max_workers=2) as pool:
        sent = [
            pool.submit(c.post, f"/assistant/sessions/{sid}/messages", json={"message": m})
            for c, m in ((one, "not white"), (two, "under $40"))
        ]
        codes = [f.result().status_code for f in sent]
    assert codes == [200, 200]
    assert conflicts == [sid]  # both turns started on one version: one lost the swap and re-ran
    stored = _history(two, sid)
    assert stored["history"][0]["message"] == "shirts"
    assert sorted(t["message"] for t in stored["history"][1:]) == ["not white", "under $40"]
    assert stored["version"] == 3 and _replays(stored)


def test_a_loser_out_of_retries_gets_409_and_changes_nothing(
    workers: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = workers
    sid = one.post("/assistant/sessions", json={}).json()["session_id"]
    monkeypatch.setattr(engine, "TURN_ATTEMPTS", 1)
    conflicts: list[str] = []
    _meet_at_first_saves(monkeypatch, conflicts)
    with ThreadPoolExecutor(max_workers=2) as pool:
        sent = {
            m: pool.submit(c.post, f"/assistant/sessions/{sid}/messages", json={"message": m})
            for c, m in ((one, "jeans"), (two, "sandals"))
        }
        replies = {m: f.result() for m, f in sent.items()}
    codes = sorted(r.status_code for r in replies.values())
    assert codes == [200, 409] and conflicts == [sid]
    loser = next(r for r in replies.values() if r.status_code == 409)
    assert loser.headers["content-type"].startswith("application/problem+json") and loser.json()["hint"]
    winner = next(m for m, r in replies.items() if r.status_code == 200)
    stored = _history(one, sid)
    assert [t["message"] for t in stored["history"]] == [winner] and stored["version"] == 1


def test_many_concurrent_turns_on_both_workers_each_appear_once(workers: tuple[TestClient, TestClient]) -> None:
    one, two = workers
    sid = one.post("/assistant/sessions", json={}).json()["session_id"]
    messages = [f"{colour} {kind}" for colour in ("red", "blue", "black") for kind in ("jeans", "shirts", "watches")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(
            pool.map(
                lambda nm: (
                    (one, two)[nm[0] % 2]
                    .post(f"/assistant/sessions/{sid}/messages", json={"message": nm[1]})
                    .status_code
                ),
                enumerate(messages),
            )
        )
    assert set(codes) <= {200, 409}
    done = [m for m, c in zip(messages, codes, strict=True) if c == 200]
    stored = _history(one, sid)
    got = [t["message"] for t in stored["history"]]
    assert sorted(got) == sorted(done) and len(set(got)) == len(got)  # each answered turn exactly once
    assert stored["version"] == len(done) and _replays(stored)
