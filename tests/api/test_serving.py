"""Serving: the shared rate limiter across worker processes, the bounded model pool, the ASGI middleware."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import build_services, create_app
from moodboard.api.pools import model_concurrency, run_model
from moodboard.api.ratelimit import SharedTokenBuckets, TokenBuckets, make_rate_limiter
from moodboard.core.settings import ServeSettings, load_settings
from moodboard.core.sizing import request_threads, torch_threads, worker_count


def _spend(path: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    buckets = SharedTokenBuckets(Path(path), per_minute=1, burst=10)
    out.put(sum(buckets.take("ip:1.2.3.4") == 0 for _ in range(n)))


def test_shared_buckets_give_one_quota_across_processes(tmp_path: Path) -> None:
    # Two worker processes spending one client's burst of 10: together they get 10, not 10 each.
    path = SharedTokenBuckets.create(tmp_path, "rl")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_spend, args=(str(path), 8, out)) for _ in range(2)]
    for p in procs:
        p.start()
    allowed = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(allowed) == 10, allowed


def test_shared_buckets_match_in_process_buckets(tmp_path: Path) -> None:
    shared = SharedTokenBuckets(SharedTokenBuckets.create(tmp_path, "rl"), per_minute=60, burst=3)
    local = TokenBuckets(per_minute=60, burst=3)
    for t in [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0]:
        for key in ("a", "b"):
            assert shared.take(key, now=100 + t) == pytest.approx(local.take(key, now=100 + t))
    shared.close()


def test_shared_buckets_survive_a_full_probe_window(tmp_path: Path) -> None:
    # a tiny table: more clients than slots evict the least recently seen, never raise or hang
    buckets = SharedTokenBuckets(SharedTokenBuckets.create(tmp_path, "rl"), per_minute=60, burst=1, slots=4)
    assert all(buckets.take(f"c{i}", now=10.0) == 0 for i in range(20))
    assert buckets.take("c19", now=10.0) > 0  # the newest client's bucket is still there


def test_limiter_choice_follows_the_serve_settings(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "h")
    assert isinstance(make_rate_limiter(settings.api, settings.serve), TokenBuckets)
    shared = settings.serve.model_copy(update={"rate_limit_file": str(tmp_path / "rl")})
    assert isinstance(make_rate_limiter(settings.api, shared), SharedTokenBuckets)


def test_default_sizing_shares_the_cores_out() -> None:
    serve = ServeSettings()
    cores = len(os.sched_getaffinity(0))
    assert worker_count(serve) == min(8, cores)  # one worker per core by default
    assert torch_threads(serve) * worker_count(serve) <= max(worker_count(serve), cores)  # no oversubscription
    assert torch_threads(ServeSettings(workers=1, torch_threads=0)) >= 1
    assert model_concurrency(ServeSettings(model_concurrency=3)) == 3


def test_request_threads_are_few_per_core_unless_requests_wait_on_a_network_service() -> None:
    serve = ServeSettings(workers=2, torch_threads=1)
    assert request_threads(serve, waits_on_network=False) == 4
    assert request_threads(ServeSettings(workers=1, torch_threads=3), waits_on_network=False) == 12
    assert request_threads(serve, waits_on_network=True) == 40  # an LLM or database server: threads mostly wait
    assert request_threads(ServeSettings(request_threads=7), waits_on_network=True) == 7


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"serve": {"torch_threads": 1}}, 4),
        ({"serve": {"request_threads": 6}}, 6),
        ({"serve": {"torch_threads": 1}, "assistant": {"llm_base_url": "http://127.0.0.1:9/v1"}}, 40),
    ],
)
def test_the_app_sizes_its_thread_pool_at_start_up(tmp_path: Path, overrides: dict, expected: int) -> None:
    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(create_app(load_settings(home=tmp_path / "h", **overrides))) as client:
        assert client.portal is not None
        assert client.portal.call(tokens) == expected
        assert client.get("/healthz").status_code == 200


def test_model_pool_bounds_photo_work_and_leaves_the_shared_pool_free(tmp_path: Path) -> None:
    services = build_services(load_settings(home=tmp_path / "h", serve={"model_concurrency": 1}))
    running, peak = [0], [0]
    lock = threading.Lock()

    def photo() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1

    async def main() -> float:
        text_done = 0.0
        start = time.perf_counter()

        async def text() -> None:
            nonlocal text_done
            await anyio.sleep(0.01)
            await anyio.to_thread.run_sync(time.sleep, 0.01)
            text_done = time.perf_counter() - start

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(run_model, services, photo)
            tg.start_soon(text)
        return text_done

    text_done = anyio.run(main)
    assert peak[0] == 1  # photo work ran one at a time
    assert text_done < 0.2  # the text search did not wait for the 4 x 0.2 s of photos
    services.close()


def test_asgi_middleware_sets_headers_request_id_and_metrics(tmp_path: Path) -> None:
    client = TestClient(create_app(load_settings(home=tmp_path / "h")))
    r = client.get("/healthz", headers={"x-request-id": "abc"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc"
    assert (
        r.headers["x-content-type-options"] == "nosniff"
        and "default-src 'self'" in r.headers["content-security-policy"]
    )
    assert len(client.get("/pins").headers["x-request-id"]) == 32
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["request_id"] == missing.headers["x-request-id"]
    assert "content-security-policy" not in client.get("/docs").headers
    text = client.get("/metrics").text
    assert 'moodboard_request_seconds_count{method="GET",route="/healthz",status="200"} 1.0' in text


def test_pin_cache_batches_misses_keeps_order_and_expires() -> None:
    from moodboard.api.pin_cache import PinCache
    from moodboard.core.records import Pin

    calls: list[list[int]] = []
    now = [0.0]

    def fetch(ids: object) -> list[Pin]:
        calls.append(list(ids))  # type: ignore[call-overload]
        return [Pin(id=i, external_id=f"e{i}", title=f"t{i}") for i in calls[-1] if i != 404]

    cache = PinCache(fetch, capacity=3, ttl_s=10, clock=lambda: now[0])
    assert [p.id for p in cache.get_pins([3, 1, 404, 2])] == [3, 1, 2]  # order kept, unknown left out
    assert [p.id for p in cache.get_pins([2, 1])] == [2, 1] and len(calls) == 1  # served from memory
    now[0] = 11.0
    cache.get_pins([1])
    assert calls[-1] == [1]  # expired entries are fetched again
    cache.get_pins([5, 6])
    cache.get_pins([3])
    assert calls[-1] == [3]  # capacity 3: the least recently used pin was dropped


def test_lexical_cache_answers_like_the_index_and_sees_writes(tmp_path: Path) -> None:
    import numpy as np

    from moodboard.index.lexical import LexicalDoc, LexicalIndex
    from moodboard.rank.lexical_cache import LexicalCache

    lex = LexicalIndex.create(tmp_path / "lex.sqlite")
    lex.add([LexicalDoc(1, "red dress"), LexicalDoc(2, "blue dress"), LexicalDoc(3, "red shoes")])
    cache = LexicalCache()
    for _ in range(2):
        assert cache.search(lex, "red dress", 10, "")[0].tolist() == lex.search("red dress", 10)[0].tolist()
        assert cache.matches_all(lex, "red dress", np.array([3, 2, 1])).tolist() == [1]
    lex.add([LexicalDoc(4, "red dress long")])  # a write: the cache must not answer from before it
    assert 4 in cache.search(lex, "red dress", 10, "")[0].tolist()
    assert cache.matches_all(lex, "red dress", np.array([4, 1])).tolist() == [4, 1]


def test_probes_are_logged_only_when_they_fail(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(create_app(load_settings(home=tmp_path / "h")))
    with caplog.at_level(logging.INFO, logger="moodboard.api"):
        client.get("/healthz")
        client.get("/pins")
    paths = [getattr(r, "path", None) for r in caplog.records if r.getMessage() == "request"]
    assert "/pins" in paths and "/healthz" not in paths


def test_a_worker_holds_numpys_blas_pool_to_its_share_of_the_cores() -> None:
    # regression (issue 12): each worker's numpy used every core's BLAS thread, so concurrent searches on the
    # thread pool thrashed (24 ms per exact search of 9,583 vectors with 8 callers instead of 0.16 ms)
    import subprocess
    import sys

    code = (
        "import numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "from moodboard.cli.serve import configure_worker\n"
        "from moodboard.core.settings import load_settings\n"
        "configure_worker(load_settings(serve={'workers': 2, 'torch_threads': 1}))\n"
        "import torch\n"
        "print(sorted({p['num_threads'] for p in threadpool_info()}), torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split("\n")[-2] == "[1] 1", out.stdout + out.stderr
