"""The holders that use `LiveSnapshot` (the index, the taste graph) and `/readyz`: a corrupt or half-written
snapshot is refused with a log line, the last good one keeps serving, and readiness says what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from moodboard.core.errors import CorruptSnapshotError
from moodboard.core.live_snapshot import snapshot_health
from moodboard.core.settings import Settings
from moodboard.core.snapshot import current_snapshot, set_current
from tests.snapshot_helpers import flip_a_byte, write_small_snapshot


def test_index_holder_refuses_a_same_size_corruption(tmp_path: Path) -> None:
    """Regression: only unreadable files were refused; a flipped byte in the vectors loaded and served."""
    from moodboard.core.settings import IndexSettings
    from moodboard.index.bundle import IndexHolder, write_index_snapshot
    from moodboard.index.lexical import LexicalDoc
    from moodboard.index.vector_index import make_index

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(30, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = make_index(IndexSettings(backend="exact"), 8, "fake:8")
    index.add(np.arange(1, 31, dtype=np.int64), vecs)
    docs = [LexicalDoc(i, f"pin {i}") for i in range(1, 31)]
    write_index_snapshot(tmp_path, index, iter(docs), {"calibration": {}})
    holder = IndexHolder(tmp_path, IndexSettings(backend="exact"), check_every_s=0)
    good = holder.get()
    bad = write_index_snapshot(tmp_path, index, iter(docs), {"calibration": {}})
    victim = max((p for p in (bad / "vectors").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    flip_a_byte(victim)
    assert holder.get() is good
    assert holder.status().current == bad and isinstance(holder.status().error, CorruptSnapshotError)


def test_live_graph_keeps_the_old_graph_when_the_new_one_is_corrupt(settings: Settings, store) -> None:  # type: ignore[no-untyped-def]
    from moodboard.graph.live import LiveGraph
    from moodboard.jobs.graph_job import run_graph_job
    from tests.graph.test_service import seed_catalog

    seed_catalog(store)
    first, _ = run_graph_job(store, settings)
    live = LiveGraph(settings.graph, settings.snapshots_dir, poll_s=0.0)
    rec = live.recommender()
    assert live.snapshot == first
    second, _ = run_graph_job(store, settings)
    flip_a_byte(max(second.glob("*.npy"), key=lambda p: p.stat().st_size))
    assert live.recommender() is rec and live.snapshot == first
    assert live.status().current == second and live.status().error is not None


def test_readyz_reports_missing_and_corrupt_snapshots_with_hints(settings: Settings) -> None:
    from moodboard.api.app import create_app

    client = TestClient(create_app(settings))
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["snapshots"]["index"] == "missing"
    hints = {p["snapshot"]: p["hint"] for p in body["problems"]}
    assert "moodboard index" in hints["index"] and "moodboard graph build" in hints["graph"]
    snap = write_small_snapshot(settings.snapshots_dir, b"v" * 64, kind="graph")
    assert client.get("/readyz").json()["snapshots"]["graph"] == "ok"
    broken = write_small_snapshot(settings.snapshots_dir, b"w" * 64, kind="graph")
    flip_a_byte(broken / "data.bin")
    body = client.get("/readyz").json()
    assert body["snapshots"]["graph"] == "corrupt"
    problem = next(p for p in body["problems"] if p["snapshot"] == "graph")
    assert "checksum" in problem["detail"] and "last good" in problem["hint"]
    set_current(settings.snapshots_dir, "graph", snap.name)
    assert client.get("/readyz").json()["snapshots"]["graph"] == "ok"
    assert current_snapshot(settings.snapshots_dir, "graph") == snap
    assert snapshot_health(settings.snapshots_dir, "nothing", "build it")["state"] == "missing"
