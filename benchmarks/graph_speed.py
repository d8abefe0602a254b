"""Taste-graph speed on a synthetic power-law graph (issue 4, acceptance 2).

Run: `python benchmarks/graph_speed.py --json OUT` (defaults: 2M pins, 200k boards, >= 20M edges).

The graph: board sizes follow a Pareto law (alpha 1.5, capped at 50k pins); each board has one of 50
topics and draws 90 % of its pins from that topic and 10 % from anywhere, with Zipf(1)-distributed pin
popularity, so pin degrees are power-law too. Duplicate (board, pin) pairs are drawn until the graph has
at least the requested number of distinct edges. Build: `graph.build.build_graph` (with entropy pruning
of the top 1 % boards) plus writing the memory-mapped snapshot; serving loads it memory-mapped.
Requests: `GraphRecommender.related` (one query pin, k=50; step budgets 2k, 5k and the default 20k) and
feed-like walks from 10 query pins through `PixieWalker`, with query pins drawn in proportion to degree,
on `--threads` threads (2 = the two cores); latency is per request, throughput is requests completed per
wall-clock second. CPU seconds are recorded too, because other jobs share the machine: `recs_per_cpu_s_x2`
is what two uncontended cores would give if the walk is CPU-bound. Baselines in the same run: the default
requests without early stopping (n_p = infinity), which is what early stopping buys, and with one walk
lane (the walks of a query pin one after another, as a plain loop), which is what interleaving buys.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import GraphSettings
from moodboard.core.snapshot import current_snapshot, read_manifest, write_snapshot
from moodboard.graph.build import BoardPinArrays, BuildParams, EventArrays, PinTable, build_graph
from moodboard.graph.csr import TasteGraph
from moodboard.graph.recommender import GraphRecommender

N_TOPICS = 50


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[graph_speed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def synthetic(n_pins: int, n_boards: int, n_edges: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (board, pin) pairs of a power-law bipartite graph with exactly n_edges edges."""
    rng = np.random.default_rng(seed)
    sizes = np.minimum(rng.pareto(1.5, n_boards) + 1.0, 50_000)
    per_topic = n_pins // N_TOPICS
    keys = np.zeros(0, np.int64)
    want = int(n_edges * 1.15)
    while len(keys) < n_edges:
        counts = np.maximum(1, np.round(sizes / sizes.sum() * want)).astype(np.int64)
        board = np.repeat(np.arange(n_boards, dtype=np.int64), counts)
        topical = rng.random(len(board)) < 0.9
        # log-uniform rank = Zipf(1) popularity within a topic (fast inverse-CDF draw)
        rank = (np.exp(rng.random(len(board)) * math.log(per_topic + 1.0)) - 1.0).astype(np.int64)
        pin = np.where(
            topical,
            (board % N_TOPICS) + N_TOPICS * np.minimum(rank, per_topic - 1),
            (rank * 7_919 + rng.integers(0, 7, len(board))) % n_pins,  # spread the popular tail around
        )
        keys = np.unique(np.concatenate([keys, board * n_pins + pin]))
        want = 2 * (n_edges - len(keys)) + 1
        log(f"drew {len(keys):,} distinct edges")
    keys = np.sort(rng.choice(keys, n_edges, replace=False))
    return keys // n_pins, keys % n_pins


def run_requests(fn: Any, queries: list[np.ndarray], threads: int) -> tuple[float, np.ndarray, list[Any]]:
    """Run fn(query) over all queries on `threads` threads; (wall seconds, per-request ms, results)."""
    lat = np.zeros(len(queries))
    results: list[Any] = [None] * len(queries)
    lock = threading.Lock()
    nxt = [0]

    def worker() -> None:
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(queries):
                return
            t = time.perf_counter()
            results[i] = fn(queries[i])
            lat[i] = (time.perf_counter() - t) * 1000

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(worker) for _ in range(threads)]:
            f.result()
    return time.perf_counter() - t0, lat, results


def main() -> None:
    """Build the synthetic graph, then time related-pin and feed requests."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--pins", type=int, default=2_000_000)
    ap.add_argument("--boards", type=int, default=200_000)
    ap.add_argument("--edges", type=int, default=20_000_000)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prune-margin", type=float, default=0.1, help="extra edges drawn to cover pruning")
    ap.add_argument("--workdir", default=None, help="where the snapshot is written (default: a temp dir)")
    ap.add_argument("--keep", default=None, help="keep the snapshot here and reuse it when the parameters match")
    args = ap.parse_args()

    params = {k: getattr(args, k) for k in ("pins", "boards", "edges", "seed", "prune_margin")}
    keep = Path(args.keep) if args.keep else None
    cached = current_snapshot(keep, "graph") if keep else None
    if cached is not None and read_manifest(cached).get("params") != params:
        cached = None
    if cached is not None:
        built = read_manifest(cached)
        log(f"reusing the snapshot in {cached} (built by an earlier run with the same parameters)")
        out = serve(TasteGraph.load(cached), args)
    else:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            built = build_and_save(args, params, keep or Path(tmp))
            out = serve(TasteGraph.load(Path(built["path"])), args)
    figures = ("edges", "edges_drawn", "bytes_per_edge", "total_bytes_per_edge", "generate_s", "build_s")
    out.update({k: built[k] for k in (*figures, "save_s", "disk_bytes") if k in built})
    out["snapshot_reused"] = cached is not None
    out.update({"pins": args.pins, "boards": args.boards, "threads": args.threads})
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if not isinstance(v, dict)}, indent=2))


def build_and_save(args: argparse.Namespace, params: dict[str, Any], root: Path) -> dict[str, Any]:
    """Generate, build and write the snapshot under root; returns the build figures (also in its manifest)."""
    t = time.perf_counter()
    # draw a little more than asked so the graph still has >= --edges after pruning high-entropy boards
    board, pin = synthetic(args.pins, args.boards, int(args.edges * (1 + args.prune_margin)), args.seed)
    drawn = len(board)
    gen_s = time.perf_counter() - t
    log(f"generated {len(board):,} edges in {gen_s:.1f}s")
    ids = np.arange(args.pins, dtype=np.int64)
    pins = PinTable(ids, (ids % N_TOPICS).astype(np.int16)[:, None], {"category": [f"t{i}" for i in range(N_TOPICS)]})
    t = time.perf_counter()
    graph = build_graph(EventArrays.empty(), BoardPinArrays(board, pin), pins, BuildParams(prune_quantile=0.99))
    build_s = time.perf_counter() - t
    del board, pin
    log(f"built graph in {build_s:.1f}s: {graph.n_edges:,} edges, pruned {graph.meta['pruned_collections']} boards")
    figures: dict[str, Any] = {
        "edges": graph.n_edges,
        "edges_drawn": drawn,
        "bytes_per_edge": graph.edge_bytes() / graph.n_edges,
        "total_bytes_per_edge": graph.total_bytes() / graph.n_edges,
        "generate_s": round(gen_s, 1),
        "build_s": round(build_s, 1),
    }
    t = time.perf_counter()
    manifest = {"source": "graph_speed", "params": params, **figures}
    path = write_snapshot(root, "graph", graph.save, manifest)
    figures["save_s"] = round(time.perf_counter() - t, 1)
    figures["disk_bytes"] = sum(f.stat().st_size for f in path.iterdir())
    log(f"saved in {figures['save_s']:.1f}s ({figures['disk_bytes'] / 1e6:.0f} MB on disk) to {path}")
    return {**figures, "path": str(path), "params": params}


def serve(g: TasteGraph, args: argparse.Namespace) -> dict[str, Any]:
    """Time related-pin requests (headline) and feed-like walks; step budgets swept, early stopping on/off."""
    gs = GraphSettings()
    rng = np.random.default_rng(args.seed + 1)
    deg = np.diff(np.asarray(g.pin_indptr)).astype(np.float64)
    live = np.flatnonzero(deg > 0)
    p = deg[live] / deg[live].sum()
    singles = [np.array([int(g.pin_ids[i])]) for i in rng.choice(live, args.requests, p=p)]
    feeds = [rng.choice(live, 10, p=p).astype(np.int32) for _ in range(args.requests // 4)]
    out: dict[str, Any] = {"settings": gs.model_dump()}
    lanes = gs.walk_lanes
    runs = [("related", steps, gs.n_p, lanes) for steps in (2_000, 5_000, gs.walk_steps)]
    runs += [("related", gs.walk_steps, 10**9, lanes), ("related", gs.walk_steps, gs.n_p, 1)]
    runs += [("feed10", gs.walk_steps, gs.n_p, lanes)]
    for kind, steps, n_p, lanes in runs:
        s = gs.model_copy(update={"n_p": n_p, "walk_steps": steps, "walk_lanes": lanes})
        r = GraphRecommender(g, s)
        r.related(int(singles[0][0]), 50)  # compile / warm up this thread's buffers

        def related(q: np.ndarray, r: GraphRecommender = r) -> int:
            return r.related(int(q[0]), 50).steps

        def feed(q: np.ndarray, s: GraphSettings = s, r: GraphRecommender = r) -> int:
            res = r.walker.walk(q, np.ones(len(q), np.float32), steps=s.walk_steps, restart=s.restart_prob,
                                n_p=s.n_p, n_v=s.n_v, seed=int(q[0]), lanes=s.walk_lanes)  # fmt: skip
            if len(res.scores) > 50:
                np.argpartition(-res.scores, 50)[:50]
            return res.steps

        fn, qs = (related, singles) if kind == "related" else (feed, feeds)
        cpu0 = time.process_time()
        wall, lat, taken = run_requests(fn, qs, args.threads)
        cpu = time.process_time() - cpu0
        label = f"{kind}_steps{steps}" + ("_no_early_stop" if n_p > gs.n_p else "")
        label += "_one_lane" if lanes == 1 else ""
        out[label] = {
            "requests": len(qs),
            "walk_steps": steps,
            "early_stopping": n_p <= gs.n_p,
            "lanes": lanes,
            "recs_per_s": len(qs) / wall,
            "p50_ms": float(np.percentile(lat, 50)),
            "p99_ms": float(np.percentile(lat, 99)),
            "mean_steps_taken": float(np.mean(taken)),
            "cpu_s": cpu,
            "ns_per_step_cpu": cpu / max(float(np.sum(taken)), 1.0) * 1e9,
            "recs_per_cpu_s_x2": 2 * len(qs) / cpu,  # what two uncontended cores would give, CPU-bound
        }
        o = out[label]
        log(f"{label}: {o['recs_per_s']:,.0f} req/s, p50 {o['p50_ms']:.2f} ms, p99 {o['p99_ms']:.2f} ms, "
            f"{o['mean_steps_taken']:.0f} steps/req, {o['ns_per_step_cpu']:.0f} ns/step CPU")  # fmt: skip
    out["load_avg_1m_after_serving"] = os.getloadavg()[0]  # other processes share the 2 cores
    head = out[f"related_steps{gs.walk_steps}"]
    out.update({"recs_per_s": head["recs_per_s"], "p50_ms": head["p50_ms"], "p99_ms": head["p99_ms"]})
    return out


if __name__ == "__main__":
    main()
