"""Which embedded ANN library backs moodboard's index: faiss HNSW vs faiss IVF-Flat vs hnswlib vs usearch.

Usage: `python benchmarks/ann_choice.py --json OUT [--n 200000] [--dim 256]`

Same synthetic clustered vectors as `search_speed.py`. For each library: build time; single-thread,
one-query-per-call QPS at the smallest search parameter reaching recall@10 >= 0.95; bytes per item of
the serialised index; and filtered search with a 10 % attribute filter through the library's own
filter mechanism (recall and QPS), where it has one. Libraries that are not installed are skipped
(they are not project dependencies: `pip install hnswlib usearch` to compare all four).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from search_speed import exact_topk, recall, synthetic

K = 10
TARGET = 0.95


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[ann_choice {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def qps(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    """Queries per second, one query per call."""
    t0 = time.perf_counter()
    for i in range(queries.shape[0]):
        fn(queries[i : i + 1])
    return queries.shape[0] / (time.perf_counter() - t0)


def sweep(
    name: str, set_param: Callable[[int], None], search: Callable[[np.ndarray], np.ndarray], params: list[int],
    queries: np.ndarray, truth: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """Smallest parameter with recall >= TARGET, its recall and QPS."""
    for p in params:
        set_param(p)
        r = recall(search(queries), truth)
        log(f"{name}: param={p} recall@10={r:.4f}")
        if r >= TARGET:
            break
    return {"param": p, "recall_at_10": r, "qps": qps(search, queries)}


def file_bytes(write: Callable[[str], None]) -> int:
    """Size of the serialised index."""
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/index.bin"
        write(path)
        return Path(path).stat().st_size


def main() -> None:
    """Run every installed library and write the JSON figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import faiss

    base = synthetic(args.n, args.dim, 0)
    queries = synthetic(args.queries, args.dim, 1)
    rng = np.random.default_rng(0)
    mask = rng.random(args.n) < 0.10
    truth = exact_topk(base, queries, K)
    truth_f = exact_topk(base, queries, K, np.flatnonzero(mask))
    efs = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    out: dict[str, Any] = {"n": args.n, "dim": args.dim, "machine": "2-core x86_64, 24 GB, no GPU (shared)"}

    # faiss HNSW -------------------------------------------------------------------------------------
    faiss.omp_set_num_threads(args.threads)
    t0 = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(args.dim, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 64
    hnsw.add(base)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    res = sweep("faiss-hnsw", lambda p: setattr(hnsw.hnsw, "efSearch", p), lambda q: hnsw.search(q, K)[1], efs,
                queries, truth)  # fmt: skip
    bitmap = np.packbits(mask, bitorder="little")
    params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBitmap(args.n, faiss.swig_ptr(bitmap)), efSearch=640)
    res["filtered10"] = {
        "recall_at_10": recall(hnsw.search(queries, K, params=params)[1], truth_f),
        "qps": qps(lambda q: hnsw.search(q, K, params=params), queries),
        "how": "native IDSelectorBitmap (C++), efSearch 640",
    }
    res["build_s"] = build
    res["bytes_per_item"] = file_bytes(lambda p: faiss.write_index(hnsw, p)) / args.n
    out["faiss_hnsw"] = res

    # faiss IVF-Flat ---------------------------------------------------------------------------------
    faiss.omp_set_num_threads(args.threads)
    t0 = time.perf_counter()
    quant = faiss.IndexFlatIP(args.dim)
    ivf = faiss.IndexIVFFlat(quant, args.dim, 1024, faiss.METRIC_INNER_PRODUCT)
    ivf.train(base[rng.choice(args.n, min(args.n, 60_000), replace=False)])
    ivf.add(base)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    res = sweep("faiss-ivf", lambda p: setattr(ivf, "nprobe", p), lambda q: ivf.search(q, K)[1],
                [1, 2, 4, 8, 16, 32, 64, 128], queries, truth)  # fmt: skip
    res["build_s"] = build
    res["bytes_per_item"] = file_bytes(lambda p: faiss.write_index(ivf, p)) / args.n
    out["faiss_ivf_flat"] = res

    # hnswlib ------------------------------------------------------------------------------------------
    if importlib.util.find_spec("hnswlib"):
        import hnswlib

        t0 = time.perf_counter()
        hl = hnswlib.Index(space="ip", dim=args.dim)
        hl.init_index(max_elements=args.n, ef_construction=64, M=16)
        hl.set_num_threads(args.threads)
        hl.add_items(base, np.arange(args.n))
        build = time.perf_counter() - t0
        hl.set_num_threads(1)
        res = sweep("hnswlib", hl.set_ef, lambda q: hl.knn_query(q, K)[0], efs, queries, truth)
        hl.set_ef(640)

        def allowed(label: int) -> bool:
            return bool(mask[label])

        res["filtered10"] = {
            "recall_at_10": recall(hl.knn_query(queries, K, filter=allowed)[0], truth_f),
            "qps": qps(lambda q: hl.knn_query(q, K, filter=allowed), queries),
            "how": "Python callable per visited node, ef 640",
        }
        res["build_s"] = build
        res["bytes_per_item"] = file_bytes(hl.save_index) / args.n
        out["hnswlib"] = res
    else:
        out["hnswlib"] = "not installed"

    # usearch ------------------------------------------------------------------------------------------
    if importlib.util.find_spec("usearch"):
        from usearch.index import Index

        t0 = time.perf_counter()
        us = Index(ndim=args.dim, metric="ip", dtype="f32", connectivity=16, expansion_add=64)
        us.add(np.arange(args.n), base, threads=args.threads)
        build = time.perf_counter() - t0

        def us_search(q: np.ndarray) -> np.ndarray:
            keys: np.ndarray = us.search(q, K, threads=1).keys
            return keys.reshape(q.shape[0], -1)

        res = sweep("usearch", lambda p: setattr(us, "expansion_search", p), us_search, efs, queries, truth)
        res["filtered10"] = "no predicate filter in the Python API; only post-filtering with oversampling"
        res["build_s"] = build
        res["bytes_per_item"] = file_bytes(us.save) / args.n
        out["usearch"] = res
    else:
        out["usearch"] = "not installed"

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
