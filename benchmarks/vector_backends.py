"""Vector backends: the `milvus` VectorIndex (Milvus Lite engine) vs the embedded faiss backend.

Usage: `python benchmarks/vector_backends.py --json OUT [--n 1000000] [--dim 256] [--queries 100]
[--single 100] [--single-milvus 5]`

Data: `benchmarks/search_speed.py`'s synthetic clustered unit vectors (low intrinsic dimension, like
real embeddings) and fresh queries from the same process. Attributes are multi-valued, as a real
catalog's are: a two-level category path (10 top levels x 10 sub-levels; the item holds both levels),
and two distinct `tag` values out of 200 (an attribute field of the catalog profile). So the filter
`category = c0` (a top level) keeps 10 % of the items and `tag = t0` keeps about 1 %. Ground truth is
exact inner-product top-10 over the items that pass each filter.

Both backends go through moodboard's `VectorIndex` (`make_index`) with default settings (HNSW M=16,
efConstruction=64, efSearch=64; faiss answers filters keeping <= 20,000 items exactly). Per filter:
recall@10, single-query QPS (one `search` call per query, sequential; the API's shape; `--single`
queries for faiss, `--single-milvus` for Milvus) and batched QPS (all queries in one call). One
untimed one-query search per filter comes first (the milvus backend counts the filter's selectivity
once and caches it; its time is reported as `first_call_seconds`). Build = adding every item until the
index answers (Milvus: upserts + flush). Memory: this process's resident set after each build and its
peak (Milvus Lite runs its engine inside this process).
"""

from __future__ import annotations

import argparse
import gc
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
FILTERS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "10%": {"category": "c0"},
    "1%": {"attributes": {"tag": ["t0"]}},
}


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[vector_backends {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _search_speed() -> Any:
    spec = importlib.util.spec_from_file_location("search_speed", Path(__file__).with_name("search_speed.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rss_gb() -> dict[str, float]:
    """This process's resident set now and at its peak, GB (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    kb = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")}
    return {"rss_gb": round(kb["VmRSS"] / 2**20, 2), "peak_rss_gb": round(kb["VmHWM"] / 2**20, 2)}


def attributes(n: int, seed: int = 3) -> tuple[list[ItemAttrs], dict[str, np.ndarray]]:
    """Multi-valued attributes of n items, and which items pass the 10 % and 1 % filters."""
    rng = np.random.default_rng(seed)
    top, sub = rng.integers(0, 10, n), rng.integers(0, 10, n)
    tag_a = rng.integers(0, 200, n)
    tag_b = (tag_a + rng.integers(1, 200, n)) % 200  # a second, different tag
    attrs = [
        ItemAttrs(category=(f"c{t}", f"c{t} > s{s}"), extra={"tag": (f"t{a}", f"t{b}")})
        for t, s, a, b in zip(top.tolist(), sub.tolist(), tag_a.tolist(), tag_b.tolist(), strict=True)
    ]
    return attrs, {"10%": np.flatnonzero(top == 0), "1%": np.flatnonzero((tag_a == 0) | (tag_b == 0))}


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
    index.search(queries[:1], K, flt)  # untimed: the milvus backend counts and caches the selectivity here
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    ids, _ = index.search(queries, K, flt)
    batched = queries.shape[0] / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(single):
        index.search(queries[i : i + 1], K, flt)
    one = single / (time.perf_counter() - t0)
    return {
        "recall_at_10": round(float(bench.recall(ids, truth)), 4),
        "qps_single": float(f"{one:.3g}"),  # three significant digits: Milvus Lite's filtered QPS is ~0.04
        "qps_batched": float(f"{batched:.3g}"),
        "first_call_seconds": round(first, 2),
    }


def main() -> None:
    """Run both backends at one size and print/write the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--single", type=int, default=100, help="faiss queries timed one call at a time")
    parser.add_argument("--single-milvus", type=int, default=5, help="Milvus queries timed one call at a time")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    bench = _search_speed()
    log(f"data: n={args.n} dim={args.dim} queries={args.queries}")
    vectors = bench.synthetic(args.n, args.dim, seed=0)
    queries = bench.synthetic(args.queries, args.dim, seed=1)
    attrs, passing = attributes(args.n)
    subsets: dict[str, np.ndarray | None] = {"none": None, **passing}
    truth = {name: bench.exact_topk(vectors, queries, K, sub) for name, sub in subsets.items()}
    log("ground truth done")
    results: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "selectivity": {name: (1.0 if s is None else round(len(s) / args.n, 4)) for name, s in subsets.items()},
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg()[0],
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
            row["memory_after_build"] = rss_gb()
            log(f"{name}: built, memory {row['memory_after_build']}")
            single = args.single if name == "faiss" else args.single_milvus
            row["single_queries"] = single
            results["backends"][name] = row
            for fname, raw in FILTERS.items():
                row[fname] = measure(index, queries, truth[fname], raw, single)
                log(f"{name} {fname}: {row[fname]}")
                if args.json:  # partial results survive a run stopped by its time limit
                    args.json.write_text(json.dumps(results, indent=2) + "\n")
            del index
            gc.collect()
    fa, mi = results["backends"]["faiss"], results["backends"]["milvus"]
    results["milvus_vs_faiss"] = {
        f: {
            "recall_delta": round(mi[f]["recall_at_10"] - fa[f]["recall_at_10"], 4),
            "qps_single_ratio": round(mi[f]["qps_single"] / fa[f]["qps_single"], 4),
            "qps_batched_ratio": round(mi[f]["qps_batched"] / fa[f]["qps_batched"], 4),
        }
        for f in FILTERS
    }
    results["load_average_end"] = os.getloadavg()[0]
    results["memory_end"] = rss_gb()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
