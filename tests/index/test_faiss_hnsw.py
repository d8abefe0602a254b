"""The faiss backend's own behaviour: exact below the threshold, HNSW above, recall vs exact, memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.exact import ExactIndex
from moodboard.index.faiss_hnsw import FaissHNSWIndex
from moodboard.index.vector_index import load_vector_index, save_vector_index


def _data(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_switches_to_hnsw_at_the_threshold() -> None:
    idx = FaissHNSWIndex(IndexSettings(exact_threshold=100), 32, "m")
    idx.add(np.arange(99), _data(99))
    assert not idx.uses_ann
    idx.add(np.array([1000]), _data(1, seed=1))
    assert idx.uses_ann and len(idx) == 100
    np.testing.assert_allclose(idx.get_vectors(np.array([5]))[0], _data(99)[5])


def test_hnsw_recall_against_exact_with_and_without_filters() -> None:
    n = 3000
    x, q = _data(n), _data(50, seed=2)
    attrs = [ItemAttrs(color=f"c{i % 4}") for i in range(n)]
    settings = IndexSettings(exact_threshold=1, prefilter_max=0, hnsw_ef_search=64)
    ann, exact = FaissHNSWIndex(settings, 32, "m"), ExactIndex(settings, 32, "m")
    for idx in (ann, exact):
        idx.add(np.arange(n), x, attrs)
    for flt in (None, parse_filter({"color": "c1"})):
        a, _ = ann.search(q, 10, flt)
        e, _ = exact.search(q, 10, flt)
        recall = np.mean([len(set(a[i]) & set(e[i])) / 10 for i in range(q.shape[0])])
        assert recall >= 0.9, (flt, recall)


def test_memory_per_item_and_compaction_on_save(tmp_path: Path) -> None:
    settings = IndexSettings(exact_threshold=1, hnsw_m=16)
    idx = FaissHNSWIndex(settings, 256, "m")
    idx.add(np.arange(2000), _data(2000, d=256), [ItemAttrs(price=1.0)] * 2000)
    assert 256 * 4 < idx.memory_bytes() / len(idx) < 1536
    idx.remove(np.arange(1000))
    meta = save_vector_index(idx, tmp_path / "v")
    assert meta["slots"] == 1000 and meta["count"] == 1000  # dead half dropped on save
    loaded = load_vector_index(tmp_path / "v", settings)
    ids, _ = loaded.search(_data(2000, d=256)[1500:1501], 1)
    assert ids[0, 0] == 1500


def test_concurrent_searches_and_writes_stay_consistent() -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = IndexSettings(exact_threshold=500, prefilter_max=0)
    idx = FaissHNSWIndex(settings, 32, "m")
    base = _data(2000)
    idx.add(np.arange(1000), base[:1000])
    queries = base[:50]
    errors: list[BaseException] = []

    def reader() -> None:
        for _ in range(20):
            ids, scores = idx.search(queries, 5)
            assert (ids[:, 0] >= 0).all() and np.isfinite(scores[:, 0]).all()

    def writer() -> None:
        for start in range(1000, 2000, 100):
            idx.add(np.arange(start, start + 100), base[start : start + 100])
            idx.remove(np.arange(start - 1000, start - 950))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(reader) for _ in range(3)] + [pool.submit(writer)]
        for f in futures:
            if f.exception():
                errors.append(f.exception())  # type: ignore[arg-type]
    assert not errors
    assert len(idx) == 2000 - 500
    ids, _ = idx.search(base[1999:2000], 1)
    assert ids[0, 0] == 1999
