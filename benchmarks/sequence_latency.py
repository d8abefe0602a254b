"""Serving latency of the sequence candidate source (issue 14): one user's candidates on CPU, p50 / p95.

Run: `python benchmarks/sequence_latency.py --json OUT [--models DIR]` (DIR from
`sequence_quality.py --save-models`; without it an untrained model of the same shape is timed, which
costs the same). MovieLens 100K users and histories (MOODBOARD_DATA_DIR or ../shared/data).

Three paths per user, each timed over every user: `cold` = the user's embedding is computed (transformer
over the newest max_len engagements) and the catalogue scored; `cached` = the embedding is reused (scoring
and top-k only); `update` = `observe` a new engagement and then ask again (the online update, no retraining).
Baselines in the same run: scoring the catalogue with a precomputed user vector in numpy (the floor), and
the cold path through the earlier serving encoder (`SequenceModel.encode` with an all-true padding mask under
`no_grad`, every position through every block) instead of `encode_last`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_quality import data_dir, load, split  # benchmarks are scripts
from sequence_quality import user_sequences

from moodboard.rank.sequence_model import SequenceConfig, SequenceModel
from moodboard.rank.sequence_source import SequenceSource


def pct(times: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    t = np.asarray(times) * 1000
    return {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95)), "max_ms": float(t.max())}


def main() -> None:
    """Time the three serving paths over every MovieLens user."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--models", default="")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after loading (long-lived objects)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()[0]
    r, _, _ = load(data_dir(args.data_dir))
    n_users, n_items = int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1
    train = split(r, n_items, 0)["test"][0]
    seqs = user_sequences(train, n_users)
    if args.models:
        cfg = SequenceConfig(**json.loads((Path(args.models) / "config.json").read_text()))
        state = torch.load(Path(args.models) / "test.pt", weights_only=True)
        model = SequenceModel(cfg, state.get("content"))
        model.load_state_dict(state)
    else:
        model = SequenceModel(SequenceConfig(n_items=n_items, max_len=50))
    pin_ids = np.arange(-1, n_items)  # row i -> item i - 1
    source = SequenceSource(model, pin_ids, {u: (s - 1).tolist() for u, s in enumerate(seqs)})
    if args.gc_freeze:
        import gc

        gc.collect()
        gc.freeze()  # the loaded histories and model are permanent: keep the collector off them
    for u in range(20):  # warm-up
        source.candidates(u, args.k)
    cold, cached, update, floor, padded = [], [], [], [], []
    rng = np.random.default_rng(0)
    table = source._table
    for u in range(n_users):
        hist = seqs[u][-model.cfg.max_len :]  # table rows (1-based item indices) of the newest engagements
        t0 = time.perf_counter()
        with torch.no_grad():  # the earlier serving path: the batch encoder with an all-true padding mask
            emb = torch.from_numpy(table[hist])[None]  # (1, T, C)
            vec = model.encode(emb, torch.ones(1, len(hist), dtype=torch.bool))[0, -1].numpy()
        s = table @ vec
        np.argpartition(-s, args.k)[: args.k]
        padded.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        source.candidates(u, args.k)
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        source.candidates(u, args.k)
        cached.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        source.observe(u, int(rng.integers(n_items)))
        source.candidates(u, args.k)
        update.append(time.perf_counter() - t0)
        vec = source.user_embedding(u)
        t0 = time.perf_counter()
        s = table @ vec
        np.argpartition(-s, args.k)[: args.k]
        floor.append(time.perf_counter() - t0)
    out = {
        "cold": pct(cold), "cached": pct(cached), "update": pct(update), "numpy_scoring_floor": pct(floor),
        "cold_previous_encoder": pct(padded),
        "users": n_users, "items": n_items, "k": args.k, "threads": args.threads, "model": model.cfg.to_dict(),
        "trained_weights": bool(args.models), "gc_freeze": args.gc_freeze,
        "load_1min": [load_start, os.getloadavg()[0]],
    }  # fmt: skip
    Path(args.json).write_text(json.dumps(out, indent=2))
    paths = ("cold", "cached", "update", "numpy_scoring_floor", "cold_previous_encoder")
    print(json.dumps({k: out[k] for k in paths}, indent=2))


if __name__ == "__main__":
    main()
