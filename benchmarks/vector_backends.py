"""Vector backends: the `milvus` VectorIndex (Milvus Lite engine) vs the embedded faiss backend.

Usage: `python benchmarks/vector_backends.py --json OUT [--n 200000] [--dim 256] [--queries 200]`

Data: `benchmarks/search_speed.py`'s synthetic clustered unit vectors (low intrinsic dimension, like
real embeddings) and fresh queries from the same process. Attributes: `category` takes 10 values and
`merchant` 100 values, assigned at random, so `category = c0` keeps 10 % of items and `merchant = m0`
keeps 1 %. Ground truth is exact inner-product top-10 over the items that pass each filter.

Both backends go through moodboard's `VectorIndex` (`make_index`) with default settings (HNSW M=16,
efConstruction=64, efSearch=64; faiss answers filters keeping <= 20,000 items exactly). Per filter:
recall@10, single-query QPS (one `search` call per query, sequential; the API's shape) and batched QPS
(all queries in one call). Build = adding every item until the index answers (Milvus: upserts + flush).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.vector_index import VectorIndex, make_index

K = 10
FILTERS: dict[str, dict[str, Any] | None] = {"none": None, "10%": {"category": "c0"}, "1%": {"merchant": "m0"}}


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[vector_backends {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _search_speed() -> Any:
    spec = importlib.util.spec_from_file_location("search_speed", Path(__file__).with_name("search_speed.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(index: VectorIndex, vectors: np.ndarray, attrs: list[ItemAttrs], step: int = 50_000) -> float:
    """Add every item in chunks (with progress); returns seconds until the index answers a search."""
    start = time.perf_counter()
    for lo in range(0, vectors.shape[0], step):
        hi = min(lo + step, vectors.shape[0])
        index.add(np.arange(lo, hi, dtype=np.int64), vectors[lo:hi], attrs[lo:hi])
        log(f"  {index.backend}: {hi}/{vectors.shape[0]} added ({time.perf_counter() - start:.1f} s)")
    if index.backend == "milvus":
        index._client.flush(index.collection)  # type: ignore[attr-defined]
    index.search(vectors[:1], K)
    return time.perf_counter() - start


def measure(
    index: VectorIndex, queries: np.ndarray, truth: np.ndarray, raw: dict[str, Any] | None, single: int
) -> dict[str, float]:
    """recall@10 (batched call), single-query QPS over `single` queries, batched QPS over all queries."""
    bench = _search_speed()
    flt = parse_filter(raw) if raw else None
    t0 = time.perf_counter()
    ids, _ = index.search(queries, K, flt)
    batched = queries.shape[0] / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(single):
        index.search(queries[i : i + 1], K, flt)
    one = single / (time.perf_counter() - t0)
    return {
        "recall_at_10": round(float(bench.recall(ids, truth)), 4),
        "qps_single": round(one, 1),
        "qps_batched": round(batched, 1),
    }


def main() -> None:
    """Run both backends at one size and print/write the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--single", type=int, default=50, help="queries timed one call at a time")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    bench = _search_speed()
    log(f"data: n={args.n} dim={args.dim} queries={args.queries}")
    vectors = bench.synthetic(args.n, args.dim, seed=0)
    queries = bench.synthetic(args.queries, args.dim, seed=1)
    rng = np.random.default_rng(3)
    category, merchant = rng.integers(0, 10, args.n), rng.integers(0, 100, args.n)
    attrs = [ItemAttrs(category=f"c{c}", merchant=f"m{m}") for c, m in zip(category, merchant, strict=True)]
    subsets = {"none": None, "10%": np.flatnonzero(category == 0), "1%": np.flatnonzero(merchant == 0)}
    truth = {name: bench.exact_topk(vectors, queries, K, sub) for name, sub in subsets.items()}
    log("ground truth done")
    results: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "selectivity": {name: (1.0 if s is None else round(len(s) / args.n, 4)) for name, s in subsets.items()},
        "cpus": os.cpu_count(),
        "backends": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "faiss": IndexSettings(backend="faiss", exact_threshold=1),
            "milvus": IndexSettings(backend="milvus", milvus={"uri": str(Path(tmp) / "bench.db")}),
        }
        for name, settings in cases.items():
            log(f"{name}: building")
            index = make_index(settings, args.dim, "bench")
            row: dict[str, Any] = {"build_seconds": round(build(index, vectors, attrs), 1)}
            for fname, raw in FILTERS.items():
                row[fname] = measure(index, queries, truth[fname], raw, args.single)
                log(f"{name} {fname}: {row[fname]}")
            results["backends"][name] = row
            del index
    fa, mi = results["backends"]["faiss"], results["backends"]["milvus"]
    results["milvus_vs_faiss"] = {
        f: {
            "recall_delta": round(mi[f]["recall_at_10"] - fa[f]["recall_at_10"], 4),
            "qps_single_ratio": round(mi[f]["qps_single"] / fa[f]["qps_single"], 4),
            "qps_batched_ratio": round(mi[f]["qps_batched"] / fa[f]["qps_batched"], 4),
        }
        for f in FILTERS
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
