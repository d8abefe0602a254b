"""Every per-process cache and every stored per-session collection has a bound that is a setting (issue 16).

One test per bound, each through the object the server builds (`build_runtime`, `make_rate_limiter`, the
session store as the runtime configures it): the pin cache (size, time to live), the query-text,
query-photo and lexical-answer caches of the search service, the rate limiter's clients (in-process and
the shared file), the session store's time to live and sweep, and a session's photos (count, bytes); and
the latency histogram's children, which made-up HTTP methods used to grow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from moodboard.api.ratelimit import SharedTokenBuckets, TokenBuckets, make_rate_limiter
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.catalog.tables import AssistantSessionImageRow, AssistantSessionRow, EventRow, PinRow, UserRow
from moodboard.core.errors import NotFoundError
from moodboard.core.settings import Settings, load_settings
from moodboard.rank.search import QueryImage, SearchRequest
from moodboard.runtime import Runtime, build_runtime
from tests.imagegen import COLOURS, SHAPES, make_image


def _catalog(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (colour, shape) in enumerate((c, s) for c in COLOURS for s in SHAPES):
        make_image(root / f"{i}.png", colour, shape)
        rows.append({"id": f"b{i:03d}", "title": f"{colour} {shape} print", "category": shape, "color": colour,
                     "price": 10 + i, "currency": "USD", "image": f"{i}.png"})  # fmt: skip
    (root / "catalog.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root / "catalog.jsonl"


def _settings(home: Path, **sections: dict[str, object]) -> Settings:
    return load_settings(home=home, embed={"backend": "fake", "dim": 32}, ingest={"workers": 1}, **sections)


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with 18 pins and their index snapshot (fake embedder)."""
    from moodboard.catalog.ingest import Ingestor
    from moodboard.catalog.sources import open_source
    from moodboard.embed.embedder import make_embedder
    from moodboard.jobs.index_job import run_index_job

    root = tmp_path_factory.mktemp("bounds")
    settings = _settings(root / "home")
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    try:
        Ingestor(store, settings.ingest, settings.thumbnails_dir, root / "r.jsonl").run(open_source(_catalog(root)))
        run_index_job(settings, store, make_embedder(settings.embed, settings.snapshots_dir))
    finally:
        store.close()
    return settings.home


@pytest.fixture
def runtime(indexed_home: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The serving runtime over the indexed home with the settings sections the test names (indirect param)."""
    rt = build_runtime(_settings(indexed_home, **request.param))
    yield rt
    rt.close()


def _pin_ids(rt: Runtime) -> list[int]:
    return [p.id for batch in rt.store.iter_pins() for p in batch]


@pytest.mark.parametrize("runtime", [{"serve": {"pin_cache_size": 4}}], indirect=True)
def test_pin_cache_holds_at_most_its_size_setting(runtime: Runtime) -> None:
    ids = _pin_ids(runtime)
    assert len(ids) == 18
    got = runtime.pins.get_pins(ids)
    assert [p.id for p in got] == ids  # the answer is whole; only what is kept is bounded
    assert len(runtime.pins) == 4
    runtime.pins.get_pins(ids[:2])
    assert len(runtime.pins) <= 4


@pytest.mark.parametrize("ttl", [0.0, 3600.0])
def test_pin_cache_time_to_live_is_a_setting(indexed_home: Path, ttl: float) -> None:
    rt = build_runtime(_settings(indexed_home, serve={"pin_cache_ttl_s": ttl}))
    try:
        pid = _pin_ids(rt)[0]
        old = rt.pins.get_pins([pid])[0].title
        with rt.store.sessions.begin() as s:
            s.execute(update(PinRow).where(PinRow.id == pid).values(title="renamed while cached"))
        seen = rt.pins.get_pins([pid])[0].title
        assert seen == ("renamed while cached" if ttl == 0 else old)
    finally:
        with rt.store.sessions.begin() as s:
            s.execute(update(PinRow).where(PinRow.id == pid).values(title=old))
        rt.close()


@pytest.mark.parametrize(
    "runtime", [{"index": {"text_cache_size": 3, "photo_cache_size": 2, "lexical_cache_size": 5}}], indirect=True
)
def test_search_caches_hold_at_most_their_size_settings(runtime: Runtime) -> None:
    search = runtime.search
    words = [f"{c} {s}" for c in COLOURS for s in SHAPES]
    for text in words:
        assert search.search(SearchRequest(text=text, k=5, cutoff=False)).hits
    assert len(search._text_cache._items) == 3
    assert len(search._lexical._items) <= 5
    rng = np.random.default_rng(0)
    from PIL import Image

    for i in range(6):
        img = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
        search.search(SearchRequest(images=((QueryImage(img, f"{i:064x}"), 1.0),), k=5, cutoff=False))
    assert len(search._photo_cache._items) == 2
    search.clear_caches()  # a benchmark's cold start keeps the bounds
    for text in words[:6]:
        search.search(SearchRequest(text=text, k=5, cutoff=False))
    assert len(search._text_cache._items) == 3


def test_rate_limiter_remembers_at_most_its_clients_setting(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "h", api={"rate_limit_clients": 16, "rate_limit_burst": 1})
    limiter = make_rate_limiter(settings.api, settings.serve)
    assert isinstance(limiter, TokenBuckets)
    assert all(limiter.take(f"ip:10.0.{i // 256}.{i % 256}", now=5.0) == 0 for i in range(1000))
    assert len(limiter) == 16
    assert limiter.take("ip:10.0.3.231", now=5.0) > 0  # the most recent clients keep their (empty) bucket

    shm = SharedTokenBuckets.create(tmp_path, "rl")
    serve = settings.serve.model_copy(update={"rate_limit_file": str(shm)})
    shared = make_rate_limiter(settings.api, serve)
    assert isinstance(shared, SharedTokenBuckets)
    assert all(shared.take(f"ip:10.1.{i // 256}.{i % 256}", now=5.0) == 0 for i in range(1000))
    assert shm.stat().st_size == 16 * 24  # a fixed-size table: 16 slots of (key hash, tokens, last refill)
    shared.close()


# ---- the session store (SQLite and PostgreSQL) -----------------------------------------------------------


class Clock:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _count(store: CatalogStore, table: type) -> int:
    with store.sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def test_session_expires_after_its_ttl_and_the_sweep_deletes_it_with_its_guest(any_store: CatalogStore) -> None:
    settings = load_settings(assistant={"session_ttl_s": 3600, "session_sweep_s": 60})
    a = settings.assistant
    clock = Clock()
    sessions = CatalogSessionStore(any_store, ttl_s=a.session_ttl_s, sweep_every_s=a.session_sweep_s, clock=clock)
    any_store.add_pins([NewPin("p1", "pin one")])
    pin = next(p.id for batch in any_store.iter_pins() for p in batch)
    idle = sessions.create()
    sessions.record(idle.id, pin, "save")  # an anonymous session: a guest user with an event
    sessions.put_image(idle.id, b"photo bytes " * 10)
    active = sessions.create()
    clock.now += timedelta(minutes=50)
    sessions.save(sessions.load(active.id))  # a turn keeps `active` alive
    assert _count(any_store, UserRow) == 1 and _count(any_store, EventRow) == 1
    clock.now += timedelta(minutes=20)  # `idle` is 70 minutes idle, `active` 20
    with pytest.raises(NotFoundError):
        sessions.load(idle.id)  # expired: not found (and deleted on the spot)
    assert sessions.load(active.id).id == active.id
    assert _count(any_store, AssistantSessionImageRow) == 0  # its photo went with it
    assert _count(any_store, UserRow) == 0 and _count(any_store, EventRow) == 0  # and its guest's events

    # sessions nobody touches again go in the sweep that session creation runs every `session_sweep_s`
    forgotten = [sessions.create().id for _ in range(3)]
    clock.now += timedelta(hours=2)
    sessions.create()
    with any_store.sessions() as s:
        left = {r[0] for r in s.execute(select(AssistantSessionRow.id))}
    assert not left & {*forgotten, active.id}
    assert len(left) == 1


def test_a_session_keeps_at_most_its_image_count_and_bytes(any_store: CatalogStore) -> None:
    clock = Clock()
    sessions = CatalogSessionStore(any_store, max_images=3, max_image_bytes=10_000, clock=clock)
    sid = sessions.create().id
    digests = []
    for i in range(5):
        clock.now += timedelta(seconds=1)
        digests.append(sessions.put_image(sid, bytes([i]) * 1000))
    assert [sessions.get_image(sid, d) is not None for d in digests] == [False, False, True, True, True]
    clock.now += timedelta(seconds=1)
    big = sessions.put_image(sid, b"B" * 9_500)  # with it, the newest older photo no longer fits in 10 kB
    assert sessions.get_image(sid, big) is not None
    assert [sessions.get_image(sid, d) is not None for d in digests] == [False] * 5
    clock.now += timedelta(seconds=1)
    huge = sessions.put_image(sid, b"H" * 20_000)  # over the byte bound alone: the newest photo is kept
    assert sessions.get_image(sid, huge) is not None and sessions.get_image(sid, big) is None


def test_made_up_http_methods_do_not_grow_the_metrics(tmp_path: Path) -> None:
    """Regression: each made-up HTTP method added a child to the latency histogram (labelled by method) for
    the life of the process; a method no route serves is now answered 501 before the metrics see it."""
    from fastapi.testclient import TestClient

    from moodboard.api.app import create_app

    app = create_app(load_settings(home=tmp_path / "h"))
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200

    def children() -> int:
        text = app.state.services.metrics.render().decode()
        return sum(line.startswith("moodboard_request_seconds_count") for line in text.splitlines())

    before = children()
    for i in range(50):
        r = client.request(f"X{i}", "/healthz")
        assert r.status_code == 501 and r.json()["detail"] == "unknown HTTP method"
    assert children() == before
    assert client.request("OPTIONS", "/healthz").status_code in (200, 405)  # known methods pass through
