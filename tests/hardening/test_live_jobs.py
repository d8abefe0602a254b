"""A job and the server at once, with several workers (issue 16): `moodboard ingest` then `moodboard index`
run as their own processes on the catalog a live `moodboard serve --workers 2` is serving under load, on
SQLite (WAL, busy timeout) and on PostgreSQL.

The load is mixed reads and writes from several clients (search, pins, related pins, readiness, events,
boards, assistant sessions and turns), so the job's writes meet the server's. Asserted:

- no request fails: no 5xx, no connection error, and no "database is locked" in any answer or in the log;
- the new index is swapped in atomically: every answer to two fixed probe searches, during the whole run,
  equals either the old index's answer or the new one's, never a mix or an error;
- the swap reaches every worker: each worker process (told apart by `/readyz`'s `worker`) reports the new
  index version in `serving` and answers the probes from it, on a connection that stays on that worker.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import load_settings
from moodboard.core.snapshot import current_snapshot
from moodboard.embed.embedder import make_embedder
from moodboard.jobs.graph_job import run_graph_job
from moodboard.jobs.index_job import run_index_job
from tests.browser.demo_home import free_port
from tests.conftest import REPO
from tests.hardening.kill_harness import make_catalog
from tests.hostile.conftest import OPERATOR_KEY, server_env

pytestmark = pytest.mark.slow
PROBES = [
    {"text": "40", "mode": "lexical", "k": 10, "cutoff": False},  # only catalog B has a pin 40 in its titles
    {"text": "blue square print", "k": 10, "cutoff": False},  # hybrid: vectors and words
]
WORDS = ["red", "blue", "green", "circle", "square", "triangle", "print", "yellow"]


@dataclass
class Seen:
    """Every answer the load got: failures, and the probe answers with the time they were asked."""

    failures: list[str] = field(default_factory=list)
    probes: list[tuple[float, int, list[int]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, r: httpx.Response | None, err: str = "") -> None:
        """Count one answer; keep it as a failure when it is a 5xx, an error or mentions a locked database."""
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if r is None:
                self.failures.append(f"{kind}: {err}")
            elif r.status_code >= 500 or "locked" in r.text.lower():
                self.failures.append(f"{kind}: {r.status_code} {r.text[:300]}")


def _build_home(root: Path, db_url: str) -> Path:
    """Catalog A ingested (into `db_url`), indexed and its taste graph built."""
    home = root / "home"
    settings = load_settings(home=home, database={"url": db_url}, embed={"backend": "fake", "dim": 32},
                             ingest={"workers": 1})  # fmt: skip
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    try:
        Ingestor(store, settings.ingest, settings.thumbnails_dir, root / "r.jsonl").run(
            open_source(make_catalog(root / "cat", 0, 24))
        )
        run_index_job(settings, store, make_embedder(settings.embed, settings.snapshots_dir))
        run_graph_job(store, settings)
    finally:
        store.close()
    return home


def _env(home: Path, db_url: str) -> dict[str, str]:
    return {**server_env(home, ""), "MOODBOARD_DATABASE__URL": db_url, "MOODBOARD_INGEST__WORKERS": "1",
            "MOODBOARD_INGEST__BATCH_SIZE": "2", "MOODBOARD_LOG_LEVEL": "info"}  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Path, dict[str, str], Path]]:
    """`moodboard serve --workers 2` over catalog A: (url, home, environment, server log)."""
    home = _build_home(tmp_path, db_url)
    env, port, log = _env(home, db_url), free_port(), tmp_path / "server.log"
    cmd = [sys.executable, "-m", "moodboard.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no answer within 180 s: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url, home, env, log
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _probe(client: httpx.Client) -> tuple[int, str | None, list[list[int]]] | None:
    """(worker pid, index version it serves, probe answers) from one worker, or None when the kept-alive
    connection moved to another worker between the readiness checks around the probes."""
    ready = client.get("/readyz").json()
    answers = []
    for body in PROBES:
        r = client.post("/search", json=body)
        assert r.status_code == 200, r.text
        answers.append([hit["pin_id"] for hit in r.json()["results"]])
    if client.get("/readyz").json()["worker"] != ready["worker"]:
        return None
    return ready["worker"], ready["serving"]["index"], answers


def _by_worker(url: str, version: str, workers: int = 2, within_s: float = 60) -> dict[int, list[list[int]]]:
    """Probe answers of every worker once it serves index `version` (new connections until each answered)."""
    found: dict[int, list[list[int]]] = {}
    seen_pids: set[int] = set()
    deadline = time.monotonic() + within_s
    while len(found) < workers:
        assert time.monotonic() < deadline, f"{sorted(found)} of {sorted(seen_pids)} serve {version} after {within_s} s"
        with httpx.Client(base_url=url, timeout=60) as client:
            got = _probe(client)
        if got is not None:
            seen_pids.add(got[0])
            if got[1] == version:
                found[got[0]] = got[2]
        time.sleep(0.1)
    return found


def _load(url: str, token: str, pins: list[int], seen: Seen, stop: threading.Event, seed: int) -> None:
    """One client's mixed reads and writes until `stop` (a short pause between requests)."""
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {token}"}
    t0 = time.monotonic()
    with httpx.Client(base_url=url, timeout=60) as c:
        while not stop.is_set():
            kind = rng.choice(["search", "search", "probe", "pins", "related", "event", "board", "turn", "ready"])
            try:
                if kind == "search":
                    r = c.post("/search", json={"text": " ".join(rng.sample(WORDS, 2)), "k": 10})
                elif kind == "probe":
                    i = rng.randrange(len(PROBES))
                    r = c.post("/search", json=PROBES[i])
                    if r.status_code == 200:
                        with seen.lock:
                            seen.probes.append((time.monotonic() - t0, i, [h["pin_id"] for h in r.json()["results"]]))
                elif kind == "pins":
                    r = c.get("/pins", params={"limit": 20, "offset": rng.randrange(40)})
                elif kind == "related":
                    r = c.get(f"/pins/{rng.choice(pins)}/related", params={"k": 5})
                elif kind == "event":
                    events = [{"pin_id": rng.choice(pins), "type": rng.choice(["view", "click", "save"])}]
                    r = c.post("/events", json={"events": events}, headers=auth)
                elif kind == "board":
                    r = c.post("/me/boards", json={"name": f"b{rng.randrange(10**6)}"}, headers=auth)
                    if r.status_code == 201:
                        seen.note("board", r)
                        r = c.post(f"/boards/{r.json()['id']}/pins", json={"pin_id": rng.choice(pins)}, headers=auth)
                elif kind == "turn":
                    r = c.post("/assistant/sessions", json={}, headers=auth)
                    if r.status_code == 201:
                        seen.note("turn", r)
                        sid = r.json()["session_id"]
                        r = c.post(f"/assistant/sessions/{sid}/messages", json={"message": "red circle"}, headers=auth)
                else:
                    r = c.get("/readyz")
                seen.note(kind, r)
            except httpx.HTTPError as exc:
                seen.note(kind, None, repr(exc))
            time.sleep(0.05)


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    assert done.returncode == 0, log.read_text()[-3000:]


def test_ingest_and_index_while_two_workers_serve_under_load(
    served: tuple[str, Path, dict[str, str], Path], tmp_path: Path, db_url: str
) -> None:
    url, home, env, server_log = served
    old = current_snapshot(home / "snapshots", "index")
    assert old is not None
    before = _by_worker(url, old.name)
    assert len({json.dumps(a) for a in before.values()}) == 1, before  # both workers serve the same index
    old_answers = next(iter(before.values()))
    assert old_answers[0] == []  # no pin 40 in catalog A

    op = {"X-API-Key": OPERATOR_KEY}
    token = httpx.post(f"{url}/auth/token", json={"user": "loader"}, headers=op, timeout=60).json()["token"]
    pins = [p["id"] for p in httpx.get(f"{url}/pins", params={"limit": 24}, timeout=60).json()]
    seen, stop = Seen(), threading.Event()
    loaders = [threading.Thread(target=_load, args=(url, token, pins, seen, stop, s), daemon=True) for s in range(4)]
    for t in loaders:
        t.start()
    job_log = tmp_path / "job.log"
    cli = [sys.executable, "-m", "moodboard.cli.main"]
    try:
        time.sleep(2)  # the load is on before the job starts
        _run([*cli, "ingest", str(make_catalog(tmp_path / "cat", 24, 48)), "--json"], env, job_log)
        _run([*cli, "index", "--json"], env, job_log)
        new = current_snapshot(home / "snapshots", "index")
        assert new is not None and new != old
        # every worker reaches the new version (each checks the pointer at most every 2 s)
        after = _by_worker(url, new.name, within_s=30)
        time.sleep(1)  # a little load on the new index too
    finally:
        stop.set()
        for t in loaders:
            t.join(timeout=120)

    assert len({json.dumps(a) for a in after.values()}) == 1, after  # both workers answer from the new index
    new_answers = next(iter(after.values()))
    assert new_answers[0] and new_answers != old_answers  # catalog B's pin 40 is found now
    assert not seen.failures, seen.failures[:10]
    assert seen.counts.get("event", 0) >= 5 and seen.counts.get("turn", 0) >= 5, seen.counts  # writes did run
    mixed = [(t, i, ids) for t, i, ids in seen.probes if ids not in (old_answers[i], new_answers[i])]
    assert not mixed, f"answers from neither the old nor the new index: {mixed[:5]}"
    assert {i for _, i, ids in seen.probes if ids == old_answers[i] != new_answers[i]}, "no probe ran before the swap"
    log = server_log.read_text() + job_log.read_text()
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    print(f"{db_url.split(':')[0]}: {sum(seen.counts.values())} requests {seen.counts}, {len(seen.probes)} probes")
