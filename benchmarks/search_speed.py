"""Search speed: moodboard's vector search path vs the raw faiss HNSW index, on synthetic vectors.

Usage: `python benchmarks/search_speed.py --json OUT [--n 1000000] [--dim 256]`

Data: `n` vectors at the offline model's dimension (settings.embed.dim), drawn with low intrinsic
dimension like real embeddings: 1,000 cluster centres in a 32-d latent space, item = centre + noise,
mapped to `dim` by a fixed random matrix plus isotropic noise, then L2-normalised. Queries are fresh
draws from the same process (not in the index). Ground truth is exact inner-product top-10.

Figures (all measured in this run, single search thread):
- recall_at_10 / qps_ratio_vs_raw: efSearch is the smallest in a sweep where the raw faiss index
  reaches recall@10 >= 0.95; moodboard's `VectorIndex.search` then runs on the same HNSW graph at the
  same efSearch, so recall is equal and the QPS ratio measures moodboard's overhead per call.
- filtered_recall_at_10: a category filter keeping 1 % of items (pre-filter + exact path), plus
  filtered10_recall_at_10 for a 10 % filter (HNSW with a bitmap selector path).
- bytes_per_item: vectors + HNSW graph + id map + tombstones + attribute columns, divided by n.
- embed_speedup_vs_naive: from benchmarks/embed_speed.py's `measure_embed_speed()` when present.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import IndexSettings, Settings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.faiss_hnsw import FaissHNSWIndex
from moodboard.rank.metrics import recall_at_k

K = 10


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[search_speed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def synthetic(n: int, dim: int, seed: int, centres: int = 1000, latent: int = 32) -> np.ndarray:
    """Clustered, low-intrinsic-dimension unit vectors (see module docstring)."""
    rng = np.random.default_rng(seed)
    proj = np.random.default_rng(12345).normal(size=(latent, dim)).astype(np.float32) / np.sqrt(latent)
    cents = np.random.default_rng(54321).normal(size=(centres, latent)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        m = min(step, n - start)
        z = cents[rng.integers(0, centres, m)] + 0.6 * rng.normal(size=(m, latent)).astype(np.float32)
        x = z @ proj + 0.25 * rng.normal(size=(m, dim)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int, subset: np.ndarray | None = None) -> np.ndarray:
    """Exact top-k row numbers (of `base`, or of `subset` mapped back) per query."""
    vecs = base if subset is None else base[subset]
    best_s = np.full((queries.shape[0], k), -np.inf, dtype=np.float32)
    best_i = np.zeros((queries.shape[0], k), dtype=np.int64)
    step = 200_000
    for start in range(0, vecs.shape[0], step):
        s = queries @ vecs[start : start + step].T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, idx, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, idx + start], axis=1)
        top = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, top, axis=1), np.take_along_axis(cand_i, top, axis=1)
    return best_i if subset is None else subset[best_i]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall@K of found ids against exact ids."""
    return recall_at_k(found, [set(t.tolist()) for t in truth], K)


def time_single(fn: Any, queries: np.ndarray, repeats: int = 3) -> float:
    """Best-of-`repeats` queries per second, one query per call."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(queries.shape[0]):
            fn(queries[i : i + 1])
        best = max(best, queries.shape[0] / (time.perf_counter() - t0))
    return best


def embed_speedup() -> dict[str, Any]:
    """Call the embedder benchmark's `measure_embed_speed()` when that benchmark exists."""
    path = Path(__file__).with_name("embed_speed.py")
    if not path.is_file():
        return {"embed_speedup_vs_naive": None, "embed_note": "benchmarks/embed_speed.py not present"}
    spec = importlib.util.spec_from_file_location("embed_speed", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, "measure_embed_speed", None)
    if fn is None:
        return {"embed_speedup_vs_naive": None, "embed_note": "embed_speed.py has no measure_embed_speed()"}
    env = os.environ.get("MOODBOARD_DATA_DIR")
    data = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    result = fn(data_dir=data if data.is_dir() else None)
    return dict(result)


def main() -> None:
    """Run the benchmark and write the JSON figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=Settings().embed.dim)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-embed", action="store_true", help="do not run the embedding speed-up part")
    args = ap.parse_args()
    import faiss

    settings = IndexSettings(max_k=1000)
    log(f"generating {args.n:,} x {args.dim} vectors")
    base = synthetic(args.n, args.dim, args.seed)
    queries = synthetic(args.queries, args.dim, args.seed + 1)
    rng = np.random.default_rng(args.seed)
    category = rng.integers(0, 100, args.n)  # 1 % each
    colour = rng.integers(0, 10, args.n)  # 10 % each
    attrs = [ItemAttrs(category=f"c{c}", color=f"k{k}") for c, k in zip(category, colour, strict=True)]

    log(f"building moodboard index (faiss HNSW M={settings.hnsw_m}, efC={settings.hnsw_ef_construction})")
    faiss.omp_set_num_threads(args.build_threads)
    index = FaissHNSWIndex(settings, args.dim, "synthetic")
    t0 = time.perf_counter()
    index.add(np.arange(args.n, dtype=np.int64), base, attrs)
    build_s = time.perf_counter() - t0
    del attrs
    raw = index._hnsw  # the raw faiss object under moodboard's path: same graph, same vectors
    log(f"built in {build_s:.0f} s; computing exact ground truth")
    truth = exact_topk(base, queries, K)
    sub1 = np.flatnonzero(category == 7)
    sub10 = np.flatnonzero(colour == 3)
    truth1 = exact_topk(base, queries, K, sub1)
    truth10 = exact_topk(base, queries, K, sub10)

    faiss.omp_set_num_threads(1)
    sweep: list[dict[str, float]] = []
    chosen = None
    for ef in (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512):
        raw.hnsw.efSearch = ef
        _, found = raw.search(queries, K)
        r = recall(found, truth)
        sweep.append({"ef_search": ef, "raw_recall_at_10": r})
        log(f"efSearch={ef}: raw recall@10={r:.4f}")
        if r >= 0.95:
            chosen = ef
            break
    if chosen is None:
        chosen = 512
    settings_ef = settings.model_copy(update={"hnsw_ef_search": chosen})
    index.settings = settings_ef
    raw.hnsw.efSearch = chosen

    ours_ids, _ = index.search(queries, K)
    raw_recall = recall(raw.search(queries, K)[1], truth)
    ours_recall = recall(ours_ids, truth)
    log(f"recall@10 raw={raw_recall:.4f} moodboard={ours_recall:.4f}; timing single-query calls")

    raw_qps, ours_qps = [], []
    for _ in range(3):  # interleave to share any machine noise fairly
        raw_qps.append(time_single(lambda q: raw.search(q, K), queries, repeats=1))
        ours_qps.append(time_single(lambda q: index.search(q, K), queries, repeats=1))
    t0 = time.perf_counter()
    raw.search(queries, K)
    raw_batch_qps = queries.shape[0] / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    index.search(queries, K)
    ours_batch_qps = queries.shape[0] / (time.perf_counter() - t0)

    log("filtered searches")
    f1 = parse_filter({"category": "c7"})
    f10 = parse_filter({"color": "k3"})
    t0 = time.perf_counter()
    ids1, _ = index.search(queries, K, f1)
    f1_qps = queries.shape[0] / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    ids10, _ = index.search(queries, K, f10)
    f10_qps = queries.shape[0] / (time.perf_counter() - t0)

    out: dict[str, Any] = {
        "machine": "2-core x86_64, 24 GB, no GPU (shared)",
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "library": f"faiss-cpu {faiss.__version__} IndexHNSWFlat",
        "hnsw_m": settings.hnsw_m,
        "hnsw_ef_construction": settings.hnsw_ef_construction,
        "ef_search": chosen,
        "ef_sweep": sweep,
        "build_seconds": build_s,
        "recall_at_10": ours_recall,
        "raw_recall_at_10": raw_recall,
        "raw_qps_single": float(np.median(raw_qps)),
        "moodboard_qps_single": float(np.median(ours_qps)),
        "qps_ratio_vs_raw": float(np.median(ours_qps) / np.median(raw_qps)),
        "raw_qps_batch": raw_batch_qps,
        "moodboard_qps_batch": ours_batch_qps,
        "qps_ratio_vs_raw_batch": ours_batch_qps / raw_batch_qps,
        "filtered_selectivity": sub1.shape[0] / args.n,
        "filtered_recall_at_10": recall(ids1, truth1),
        "filtered_qps_batch": f1_qps,
        "filtered10_selectivity": sub10.shape[0] / args.n,
        "filtered10_recall_at_10": recall(ids10, truth10),
        "filtered10_qps_batch": f10_qps,
        "bytes_per_item": index.memory_bytes() / len(index),
    }
    if not args.skip_embed:
        log("embedding speed-up (benchmarks/embed_speed.py)")
        out.update(embed_speedup())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    for key in (
        "recall_at_10",
        "qps_ratio_vs_raw",
        "raw_qps_single",
        "moodboard_qps_single",
        "filtered_recall_at_10",
        "filtered10_recall_at_10",
        "bytes_per_item",
        "embed_speedup_vs_naive",
    ):
        print(f"{key:>24}: {out.get(key)}")


if __name__ == "__main__":
    main()
