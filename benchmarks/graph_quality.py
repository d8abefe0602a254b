"""Taste-graph quality on MovieLens 100K (issue 4, acceptance 1): leave-one-out HR@10 and NDCG@10.

Run: `python benchmarks/graph_quality.py --json OUT` (MOODBOARD_DATA_DIR or ../shared/data).

Protocol (seed 0): a rating is an engagement; each user's interactions are ordered by timestamp (ties by
file order). Test: each user's last interaction, ranked against 100 items the user never rated, sampled
uniformly with a fixed seed. Validation (for tuning only): the second-to-last interaction against its own
100 negatives, with the model trained on everything before it. Ties in score count against the held-out
item (pessimistic), for every method.

Tuning budget: every method is tuned the same way, by coordinate descent over its own grid from a random
starting point (`coordinate_search`; the whole grid when it is smaller than the budget), on validation
HR@10 (NDCG@10 breaks ties), then refit on all but the last interaction and scored once on test. The walk
gets `--trials` evaluations; the blend gets `--trials` more on its own knobs on top of the best walk, so
each baseline gets 2 x `--trials` (as many as walk and blend together).
Methods: popularity, item-kNN (cosine, shrinkage, top-k neighbours), implicit ALS and BPR, the Pixie walk
(graph.random_walk through GraphRecommender) and the walk blended with the PinnerSage taste profile.
Reference (not one of the issue's baselines): item-kNN whose user profile uses the walk's recency weights
(2^(-actions since / half-life)), to show how much of the walk's gain comes from weighting recent actions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from moodboard.core.records import EventType
from moodboard.core.settings import GraphSettings
from moodboard.graph.build import BuildParams, EventArrays, PinTable, build_graph
from moodboard.graph.recommender import GraphRecommender
from moodboard.graph.weights import EVENT_CODES
from moodboard.rank.metrics import loo_hr_ndcg, rank_of_target

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (users, (n, 101) items) -> (n, 101) scores


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[graph_quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def data_dir(arg: str | None) -> Path:
    """Locate the shared datasets: --data-dir, MOODBOARD_DATA_DIR, or ../shared/data."""
    if arg:
        return Path(arg)
    env = os.environ.get("MOODBOARD_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 4) int64 ratings [user, item, rating, ts] (0-based ids), genre matrix, genre names."""
    raw = np.loadtxt(root / "ml-100k" / "u.data", dtype=np.int64)
    raw[:, 0] -= 1
    raw[:, 1] -= 1
    genres = [line.split("|")[0] for line in (root / "ml-100k" / "u.genre").read_text().splitlines() if line]
    rows = (root / "ml-100k" / "u.item").read_text(encoding="latin-1").splitlines()
    g = np.array([[int(x) for x in r.split("|")[5:]] for r in rows if r], dtype=np.int8)
    return raw, g, np.array(genres)


def split(r: np.ndarray, n_items: int, seed: int) -> dict[str, Any]:
    """Leave-one-out split: test = last, validation = second to last; 100 negatives each."""
    order = np.lexsort((np.arange(len(r)), r[:, 3], r[:, 0]))
    r = r[order]
    users = np.unique(r[:, 0])
    starts = np.searchsorted(r[:, 0], users)
    ends = np.append(starts[1:], len(r))
    test_idx, val_idx = ends - 1, ends - 2
    rng = np.random.default_rng(seed)
    rated = [set(r[s:e, 1].tolist()) for s, e in zip(starts, ends, strict=True)]

    def negatives() -> np.ndarray:
        out = np.empty((len(users), 100), dtype=np.int64)
        for i, seen in enumerate(rated):
            pool = np.setdiff1d(np.arange(n_items), np.fromiter(seen, np.int64))
            out[i] = rng.choice(pool, 100, replace=False)
        return out

    mask_test = np.ones(len(r), bool)
    mask_test[test_idx] = False
    mask_val = mask_test.copy()
    mask_val[val_idx] = False
    return {
        "users": users,
        "val": (r[mask_val], np.column_stack([r[val_idx, 1], negatives()])),
        "test": (r[mask_test], np.column_stack([r[test_idx, 1], negatives()])),
    }


def interactions(train: np.ndarray, n_users: int, n_items: int, weighting: str) -> sp.csr_matrix:
    """User x item matrix: 1 per rating ('binary') or the rating itself ('rating')."""
    vals = np.ones(len(train)) if weighting == "binary" else train[:, 2].astype(np.float64)
    return sp.csr_matrix((vals, (train[:, 0], train[:, 1])), shape=(n_users, n_items), dtype=np.float32)


# ---- baselines -------------------------------------------------------------------------------
def fit_popularity(train: np.ndarray, n_users: int, n_items: int, cfg: dict[str, Any]) -> Scorer:
    """Items scored by how often (or how highly) they were rated."""
    pop = np.asarray(interactions(train, n_users, n_items, cfg["weighting"]).sum(axis=0)).ravel()
    return lambda users, items: pop[items]


def fit_itemknn(train: np.ndarray, n_users: int, n_items: int, cfg: dict[str, Any]) -> Scorer:
    """Item-kNN with cosine similarity (with shrinkage), keeping each item's top-k neighbours."""
    x = interactions(train, n_users, n_items, cfg["weighting"])
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    sim = (x.T @ x).toarray()
    sim /= np.outer(norms, norms) + cfg["shrink"] + 1e-9
    np.fill_diagonal(sim, 0.0)
    k = cfg["k"]
    if k < n_items:
        cut = np.argpartition(-sim, k, axis=1)[:, k:]
        np.put_along_axis(sim, cut, 0.0, axis=1)
    xb = x.toarray()
    if cfg.get("recency_half_life"):  # reference only: the walk's query-pin recency weights on item-kNN
        xb = xb * recency_weights(train, n_users, n_items, cfg["recency_half_life"])
    return lambda users, items: np.take_along_axis(xb[users] @ sim.T, items, axis=1)


def recency_weights(train: np.ndarray, n_users: int, n_items: int, half_life: float) -> np.ndarray:
    """Dense user x item weights 2^(-actions since), newest action 1 (what the walk does to query pins)."""
    order = np.lexsort((np.arange(len(train)), train[:, 3], train[:, 0]))
    t = train[order]
    ends = np.searchsorted(t[:, 0], t[:, 0], side="right")
    since = ends - 1 - np.arange(len(t))
    w = np.zeros((n_users, n_items), np.float32)
    w[t[:, 0], t[:, 1]] = np.exp2(-since / half_life)
    return w


def fit_implicit(kind: str, train: np.ndarray, n_users: int, n_items: int, cfg: dict[str, Any], seed: int) -> Scorer:
    """implicit's ALS or BPR on the user x item matrix; score = user . item factors."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    x = interactions(train, n_users, n_items, cfg["weighting"])
    if kind == "als":
        model: Any = AlternatingLeastSquares(
            factors=cfg["factors"], regularization=cfg["reg"], alpha=cfg["alpha"],
            iterations=cfg["iterations"], num_threads=2, random_state=seed,
        )  # fmt: skip
    else:
        model = BayesianPersonalizedRanking(
            factors=cfg["factors"], learning_rate=cfg["lr"], regularization=cfg["reg"],
            iterations=cfg["iterations"], num_threads=2, random_state=seed,
        )  # fmt: skip
    model.fit(x, show_progress=False)
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda users, items: np.einsum("nd,nkd->nk", uf[users], itf[items])


# ---- ours ------------------------------------------------------------------------------------
def rating_events(train: np.ndarray, weighting: str) -> EventArrays:
    """Ratings as events: 'binary' makes every rating a save; 'rating' maps 4-5 save, 3 click, 1-2 view."""
    if weighting == "binary":
        codes = np.full(len(train), EVENT_CODES[EventType.SAVE], np.uint8)
    else:
        table = np.array([0, 0, 0, 1, 2, 2], np.uint8)  # rating -> view/click/save code
        codes = table[train[:, 2]]
    return EventArrays(train[:, 0], train[:, 1], codes, train[:, 3].astype(np.float64))


def fit_graph(
    train: np.ndarray, n_users: int, n_items: int, cfg: dict[str, Any], genres: np.ndarray, seed: int
) -> Scorer:
    """Build the taste graph from the training ratings and score candidates with GraphRecommender."""
    first_genre = np.where(genres.any(axis=1), genres.argmax(axis=1), -1).astype(np.int16)
    pins = PinTable(np.arange(n_items, dtype=np.int64), first_genre[:, None], {"category": [""] * genres.shape[1]})
    params = BuildParams(half_life_days=cfg["half_life_days"], prune_quantile=1.0)
    graph = build_graph(rating_events(train, cfg["weighting"]), pins=pins, params=params)
    gs = GraphSettings(
        walk_steps=cfg["walk_steps"], restart_prob=cfg["restart"], n_p=cfg["n_p"], n_v=cfg["n_v"],
        degree_penalty=cfg["degree_penalty"], max_query_pins=cfg["max_query_pins"],
        profile_blend=cfg.get("blend", 0.0), n_interests=cfg.get("n_interests", 3),
        max_interests=cfg.get("max_interests", 8), profile_score=cfg.get("profile_score", "members"),
        recency_half_life=cfg.get("recency_half_life", 1e9), max_k=200, seed=seed,
    )  # fmt: skip
    rec = GraphRecommender(graph, gs)

    def score(users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = np.zeros(items.shape, np.float64)
        for i, (u, row) in enumerate(zip(users.tolist(), items, strict=True)):
            out[i] = rec.score_pins(u, row.tolist(), seed=seed + u)
        return out

    return score


GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {"weighting": ["binary", "rating"]},
    "itemknn": {"weighting": ["binary", "rating"], "k": [10, 20, 50, 100, 200, 400, 1682], "shrink": [0, 10, 50]},
    "itemknn_recent": {
        "weighting": ["binary", "rating"], "k": [10, 20, 50, 100, 200, 400, 1682], "shrink": [0, 10, 50],
        "recency_half_life": [1.5, 2.5, 4.0, 8.0, 16.0],
    },
    "als": {
        "weighting": ["binary", "rating"], "factors": [16, 32, 64, 128], "reg": [0.01, 0.1, 1.0],
        "alpha": [1.0, 5.0, 20.0], "iterations": [15, 30],
    },
    "bpr": {
        "weighting": ["binary", "rating"], "factors": [16, 32, 64, 128], "lr": [0.01, 0.05, 0.1],
        "reg": [0.001, 0.01, 0.1], "iterations": [100, 300],
    },
    "walk": {
        "weighting": ["binary", "rating"], "walk_steps": [50_000, 100_000, 200_000], "restart": [0.5, 0.7, 0.9],
        "n_p": [2000, 1_000_000], "n_v": [4], "degree_penalty": [0.5, 0.7, 0.8, 0.9],
        "half_life_days": [30.0, 10_000.0], "max_query_pins": [20, 50, 200],
        "recency_half_life": [1.5, 2.5, 4.0, 8.0, 1e9],
    },
    "blend": {
        "blend": [0.05, 0.1, 0.2, 0.3, 0.5], "n_interests": [1, 3, 8], "max_interests": [4, 8, 16],
        "profile_score": ["medoid", "members"],
    },
}  # fmt: skip


def coordinate_search(
    grid: dict[str, list[Any]], budget: int, rng: np.random.Generator, score: Callable[[dict[str, Any]], float]
) -> list[tuple[dict[str, Any], float]]:
    """Tune by coordinate descent: from a random grid point, sweep one knob at a time, keep the best.

    A descent that stops improving restarts from a fresh random point until the budget is spent, so every
    method gets the same procedure and the same number of distinct evaluations (`budget`); a grid smaller
    than the budget is searched exhaustively. Returns every (config, score) tried.
    """
    keys = list(grid)
    points = list(itertools.product(*(grid[k] for k in keys)))
    tried: dict[tuple[Any, ...], float] = {}

    def trial(point: tuple[Any, ...]) -> float:
        if point not in tried:
            tried[point] = score(dict(zip(keys, point, strict=True)))
        return tried[point]

    if len(points) <= budget:
        for point in points:
            trial(point)
    while len(tried) < min(budget, len(points)):  # descend; restart from a fresh random point when stuck
        best = points[int(rng.integers(len(points)))]
        if best in tried:
            continue
        best_score = trial(best)
        improved = True
        while improved and len(tried) < budget:
            improved = False
            for i in rng.permutation(len(keys)).tolist():
                for v in grid[keys[i]]:
                    if len(tried) >= budget:
                        break
                    cand = (*best[:i], v, *best[i + 1 :])
                    if cand not in tried and trial(cand) > best_score:
                        best, best_score, improved = cand, tried[cand], True
    return [(dict(zip(keys, p, strict=True)), sc) for p, sc in tried.items()]


def evaluate(scorer: Scorer, users: np.ndarray, cands: np.ndarray) -> tuple[float, float]:
    """HR@10 and NDCG@10 of the held-out item (column 0) among its 101 candidates."""
    return loo_hr_ndcg(rank_of_target(scorer(users, cands)), 10)


def main() -> None:
    """Run every method on the same split and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, help="where to write the figures")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--trials", type=int, default=30, help="tuning evaluations for the walk (and for the blend)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t_start = time.time()
    r, genres, _names = load(data_dir(args.data_dir))
    n_users, n_items = int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1
    s = split(r, n_items, args.seed)
    users = s["users"]
    log(f"{len(r)} ratings, {n_users} users, {n_items} items; {args.trials} trials (baselines {2 * args.trials})")

    def fitter(method: str) -> Callable[[np.ndarray, dict[str, Any]], Scorer]:
        if method == "popularity":
            return lambda tr, c: fit_popularity(tr, n_users, n_items, c)
        if method in ("itemknn", "itemknn_recent"):
            return lambda tr, c: fit_itemknn(tr, n_users, n_items, c)
        if method in ("als", "bpr"):
            return lambda tr, c: fit_implicit(method, tr, n_users, n_items, c, args.seed)
        return lambda tr, c: fit_graph(tr, n_users, n_items, c, genres, args.seed)

    results: dict[str, Any] = {}
    best_walk: dict[str, Any] = {}
    for method in ("popularity", "itemknn", "als", "bpr", "walk", "blend", "itemknn_recent"):
        rng = np.random.default_rng(args.seed + len(method))
        budget = args.trials if method in ("walk", "blend") else 2 * args.trials
        grid = GRIDS[method] if method != "blend" else {**{k: [v] for k, v in best_walk.items()}, **GRIDS[method]}
        fit = fitter(method)
        log_rows: list[dict[str, Any]] = []
        t0 = time.time()

        def val_score(
            cfg: dict[str, Any], fit: Any = fit, rows: list[dict[str, Any]] = log_rows, name: str = f"{method} trial"
        ) -> float:
            hr, nd = evaluate(fit(s["val"][0], cfg), users, s["val"][1])
            rows.append({"config": cfg, "val_hr_at_10": hr, "val_ndcg_at_10": nd})
            log(f"{name} {len(rows)}: val HR@10 {hr:.4f} NDCG@10 {nd:.4f} {cfg}")
            return hr + 1e-3 * nd  # HR@10 decides, NDCG@10 breaks ties

        coordinate_search(grid, budget, rng, val_score)
        best = max(log_rows, key=lambda t: (t["val_hr_at_10"], t["val_ndcg_at_10"]))
        t1 = time.time()
        hr, nd = evaluate(fit(s["test"][0], best["config"]), users, s["test"][1])
        results[method] = {
            "hr_at_10": hr, "ndcg_at_10": nd, "best_config": best["config"],
            "val_hr_at_10": best["val_hr_at_10"], "val_ndcg_at_10": best["val_ndcg_at_10"],
            "trials": len(log_rows), "tuning_s": round(t1 - t0, 1), "test_fit_and_score_s": round(time.time() - t1, 1),
        }  # fmt: skip
        log(f"{method}: TEST HR@10 {hr:.4f} NDCG@10 {nd:.4f} (best {best['config']})")
        if method == "walk":
            best_walk = dict(best["config"])
    baselines = ("popularity", "itemknn", "als", "bpr")
    best_base = max(baselines, key=lambda m: (results[m]["hr_at_10"], results[m]["ndcg_at_10"]))
    out = {
        "walk_hr_at_10": results["walk"]["hr_at_10"],
        "blend_hr_at_10": results["blend"]["hr_at_10"],
        "itemknn_hr_at_10": results["itemknn"]["hr_at_10"],
        "reference_itemknn_recency_hr_at_10": results["itemknn_recent"]["hr_at_10"],
        "best_baseline_hr_at_10": results[best_base]["hr_at_10"],
        "walk_ndcg_at_10": results["walk"]["ndcg_at_10"],
        "blend_ndcg_at_10": results["blend"]["ndcg_at_10"],
        "itemknn_ndcg_at_10": results["itemknn"]["ndcg_at_10"],
        "best_baseline_ndcg_at_10": results[best_base]["ndcg_at_10"],
        "best_baseline": best_base,
        "walk_beats_itemknn": results["walk"]["hr_at_10"] > results["itemknn"]["hr_at_10"],
        "blend_over_best_baseline": results["blend"]["hr_at_10"] / max(results[best_base]["hr_at_10"], 1e-12),
        "methods": results,
        "protocol": "leave-one-out (last by timestamp), 100 sampled unrated negatives, seed "
        f"{args.seed}, ties pessimistic; tuned on second-to-last",
        "users": len(users),
        "trials": {"walk": args.trials, "blend": args.trials, "baselines": 2 * args.trials},
        "wall_s": round(time.time() - t_start, 1),
    }
    Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print(f"{'method':<12}{'HR@10':>8}{'NDCG@10':>9}")
    for m in (*baselines, "walk", "blend", "itemknn_recent"):
        print(f"{m:<12}{results[m]['hr_at_10']:>8.4f}{results[m]['ndcg_at_10']:>9.4f}")
    print(f"best baseline: {best_base}; blend / best = {out['blend_over_best_baseline']:.3f} (goal >= 1.05)")


if __name__ == "__main__":
    main()
