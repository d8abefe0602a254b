"""Look-alike pins at catalog scale: the taste graph's content neighbours, IVF vs an exact scan.

Run: `python benchmarks/content_neighbours.py --json OUT` (defaults: 2M pins x 256 dims, the lite
model's width). The vectors are synthetic: unit vectors around 2,000 random centres (noise 0.35 per
dimension relative to a unit-variance centre), so neighbourhoods are clustered as real catalogs are.
Both sides answer `ContentNeighbours.nearest(row, depth)` with depth 210 (a feed's `per` of ~10 plus
up to 200 pins the user already engaged with): the exact scan (`exact_below` above n) is the baseline,
measured in the same run on the same query rows; the IVF side (`exact_below=0`, the default
`graph.content_nprobe`) is timed once its one-off background build is done; the build time is reported
separately (measured from construction).
Recall@k = overlap of the IVF's top k with the exact top k (k = 10, 50).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import GraphSettings
from moodboard.graph.content import ContentNeighbours


def log(msg: str) -> None:
    """Progress to stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def clustered(n: int, d: int, clusters: int, seed: int, chunk: int = 200_000) -> np.ndarray:
    """(n, d) float32 unit vectors around random centres, generated in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    out = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        x = centres[rng.integers(0, clusters, m)] + 0.35 * rng.standard_normal((m, d), dtype=np.float32)
        out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        log(f"vectors {s + m:,}/{n:,}")
    return out


def timed(content: ContentNeighbours, rows: np.ndarray, depth: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Answers and per-query latency (seconds) for each row."""
    answers, lat = [], []
    for r in rows.tolist():
        t = time.perf_counter()
        ids, _ = content.nearest(r, depth)
        lat.append(time.perf_counter() - t)
        answers.append(ids)
    return answers, np.array(lat)


def main() -> None:
    """Run the benchmark and write the JSON figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=2_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--depth", type=int, default=210)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nprobe", type=int, default=GraphSettings().content_nprobe)
    args = ap.parse_args()

    x = clustered(args.n, args.dim, args.clusters, args.seed)
    rows = np.random.default_rng(args.seed + 1).choice(args.n, size=args.queries, replace=False)
    exact = ContentNeighbours(x, exact_below=args.n + 1)
    exact_ans, exact_lat = timed(exact, rows, args.depth)
    log(f"exact scan: p50 {1000 * np.median(exact_lat):.1f} ms")
    t = time.perf_counter()
    ivf = ContentNeighbours(x, exact_below=0, nprobe=args.nprobe, seed=args.seed)
    index = ivf.warm()  # waits for the build the constructor started in the background
    build_s = time.perf_counter() - t
    log(f"IVF built in {build_s:.1f} s ({index.nlist} lists)")
    ivf_ans, ivf_lat = timed(ivf, rows, args.depth)
    pairs = list(zip(ivf_ans, exact_ans, strict=True))
    recall = {}
    for k in (10, 50):
        recall[k] = float(np.mean([len(set(a[:k].tolist()) & set(b[:k].tolist())) / k for a, b in pairs]))
    out: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "depth": args.depth,
        "nprobe": args.nprobe,
        "nlist": int(index.nlist),
        "exact_p50_ms": 1000 * float(np.median(exact_lat)),
        "exact_p99_ms": 1000 * float(np.quantile(exact_lat, 0.99)),
        "ivf_p50_ms": 1000 * float(np.median(ivf_lat)),
        "ivf_p99_ms": 1000 * float(np.quantile(ivf_lat, 0.99)),
        "speedup_vs_exact": float(np.median(exact_lat) / np.median(ivf_lat)),
        "recall_at_10": recall[10],
        "recall_at_50": recall[50],
        "build_seconds": build_s,
        "index_bytes_per_item": float(index.code_size + 8),  # SQ8 code + the 8-byte id of each entry
    }
    args.json.write_text(json.dumps(out, indent=2, sort_keys=True))
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
