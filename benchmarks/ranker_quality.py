"""Learned-blend quality on MovieLens 100K (issue 14, acceptance 2): LambdaMART vs the best single source.

Run: `python benchmarks/ranker_quality.py --json OUT` (MOODBOARD_DATA_DIR or ../shared/data).

Split: `graph_quality.split` (seed 0). Sources (the Pixie walk with the configuration graph_quality chose
on validation, popularity, the sequence model) are fit twice: on everything before each user's
second-to-last rating ("val") and on everything before the last ("test"). Each source proposes its top
`--per-source` unrated items per user. The ranker is trained on the val candidates, labelled by the
second-to-last rating (its size chosen by 5-fold cross-validation over users on those val requests, then
refit on all of them; ties in its score go to the best source rank), and scored once on the test
candidates, labelled by the last rating: NDCG@10 / HR@10 of the held-out item (0 when no source proposed
it), against each source's own ordering of its own list on the same users. Features: per-source score,
rank, reciprocal rank; number of sources; item popularity and age; genre match with the user's recent
genres; cosine of the sequence model's user embedding with the item's (MovieLens has no prices, so the
price-band feature is missing for every row). Timing: `Ranker.rank` on 200-candidate requests.
The sequence models come from `sequence_quality.py --save-models DIR` (`--sequence-models DIR`), or are
trained here for `--seq-epochs` epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_quality import data_dir, fit_graph, fit_popularity, load, split  # benchmarks are scripts
from sequence_quality import WALK_CONFIG, full_scores, user_sequences

from moodboard.core.records import Candidate
from moodboard.rank.blend_features import ItemStats, RequestContext, build_features, category_preferences, feature_names
from moodboard.rank.metrics import bootstrap_ci, loo_hit_ndcg_per_user
from moodboard.rank.ranker import Ranker, RankerParams
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel
from moodboard.rank.sequence_training import TrainConfig, score_all, train_sequence_model

SOURCES = ("walk", "sequence", "popularity")


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[ranker_quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def top_lists(scores: np.ndarray, seen: list[np.ndarray], k: int, name: str) -> list[list[Candidate]]:
    """Each user's top-k unseen items of (n_users, n_items) scores, as candidates (pin id = item index)."""
    s = scores.copy()
    for u, cols in enumerate(seen):
        s[u, cols] = -np.inf
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return [[Candidate(int(i), float(s[u, i]), name) for i in row.tolist()] for u, row in enumerate(top)]


def sequence_model(split_name: str, seqs: list[np.ndarray], n_items: int, args: argparse.Namespace) -> SequenceModel:
    """The saved sequence model of this split, or one trained here for --seq-epochs."""
    if args.sequence_models:
        folder = Path(args.sequence_models)
        cfg = SequenceConfig(**json.loads((folder / "config.json").read_text()))
        model = SequenceModel(cfg)
        model.load_state_dict(torch.load(folder / f"{split_name}.pt", weights_only=True))
        return model.eval()
    cfg = SequenceConfig(n_items=n_items, max_len=50)
    log(f"training the {split_name} sequence model for {args.seq_epochs} epochs")
    return train_sequence_model(cfg, TrainConfig(epochs=args.seq_epochs, seed=args.seed), seqs).model


def requests(
    train: np.ndarray, n_users: int, n_items: int, genres: np.ndarray, split_name: str, args: argparse.Namespace
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, list[list[Candidate]]]]:
    """Per user (pin ids, features) of the union of the sources' lists, and the lists themselves."""
    seqs = user_sequences(train, n_users)
    seen = [q - 1 for q in seqs]
    users = np.arange(n_users)
    t0 = time.time()
    lists = {
        "walk": top_lists(full_scores(fit_graph(train, n_users, n_items, WALK_CONFIG, genres, args.seed), users, n_items), seen, args.per_source, "walk"),  # noqa: E501
        "popularity": top_lists(full_scores(fit_popularity(train, n_users, n_items, {"weighting": "binary"}), users, n_items), seen, args.per_source, "popularity"),  # noqa: E501
    }  # fmt: skip
    log(f"{split_name}: walk and popularity lists in {time.time() - t0:.0f} s")
    model = sequence_model(split_name, seqs, n_items, args)
    lists["sequence"] = top_lists(score_all(model, seqs)[:, 1:], seen, args.per_source, "sequence")
    with torch.no_grad():
        table = model.item_table()[1:].numpy()
        from moodboard.rank.sequence_training import left_pad

        user_vec = model.user_embedding(left_pad(seqs, model.cfg.max_len)).numpy()
    vectors = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    first_genre = np.where(genres.any(axis=1), genres.argmax(axis=1), -1).astype(np.int64)
    first_seen = np.full(n_items, np.nan)
    order = np.argsort(train[:, 3], kind="stable")
    for i, ts in zip(train[order, 1][::-1], train[order, 3][::-1], strict=True):
        first_seen[i] = ts
    stats = ItemStats(
        np.arange(n_items), np.bincount(train[:, 1], minlength=n_items).astype(np.float64), first_seen,
        category=first_genre, vectors=vectors.astype(np.float32),
    )  # fmt: skip
    last_ts = np.zeros(n_users)
    np.maximum.at(last_ts, train[:, 0], train[:, 3].astype(np.float64))
    out = []
    for u in range(n_users):
        ctx = RequestContext(
            now=float(last_ts[u]),
            category_weights=category_preferences(first_genre[seen[u][-20:]].tolist()),
            user_vector=user_vec[u],
        )
        out.append(build_features({s: lists[s][u] for s in SOURCES}, SOURCES, stats, ctx))
    return out, lists


def ndcg_of(orders: list[np.ndarray], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-user hit@10 and NDCG@10 of the target in each user's ordered pin list (absent = miss)."""
    ranks = np.array(
        [int(np.flatnonzero(o == t)[0]) if np.any(o == t) else 10**9 for o, t in zip(orders, targets, strict=True)]
    )
    return loo_hit_ndcg_per_user(ranks, 10)


def main() -> None:
    """Fit sources on both splits, train the blend on val, score everything on test, write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-source", type=int, default=100)
    ap.add_argument("--sequence-models", default="", help="folder written by sequence_quality.py --save-models")
    ap.add_argument("--seq-epochs", type=int, default=60)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--cache", default="", help="pickle of the candidate requests (reused when it exists)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t_start = time.time()
    r, genres, _ = load(data_dir(args.data_dir))
    n_users, n_items = int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1
    s = split(r, n_items, args.seed)
    names = feature_names(SOURCES)
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        with cache.open("rb") as fh:
            val_req, test_req, test_lists = pickle.load(fh)  # our own file from an earlier run
        log(f"requests from {cache}")
    else:
        val_req, _ = requests(s["val"][0], n_users, n_items, genres, "val", args)
        test_req, test_lists = requests(s["test"][0], n_users, n_items, genres, "test", args)
        if cache is not None:
            with cache.open("wb") as fh:
                pickle.dump((val_req, test_req, test_lists), fh)
    val_target, test_target = s["val"][1][:, 0], s["test"][1][:, 0]

    def stack(reqs: list[tuple[np.ndarray, np.ndarray]], users: np.ndarray, target: np.ndarray) -> tuple[Any, ...]:
        x = np.concatenate([reqs[u][1] for u in users])
        y = np.concatenate([(reqs[u][0] == target[u]).astype(np.int64) for u in users])
        return x, y, np.array([len(reqs[u][0]) for u in users])

    grid = [
        {"num_leaves": nl, "n_estimators": ne, "min_child_samples": mc}
        for nl in (7, 31) for ne in (50, 150, 400) for mc in (20, 100)
    ]  # fmt: skip
    folds = np.random.default_rng(args.seed).permutation(n_users) % 5
    rrank_cols = [names.index(f"{src}_rrank") for src in SOURCES]

    def order(pins: np.ndarray, x: np.ndarray, scores: np.ndarray) -> np.ndarray:
        # ties in the ranker's score (few trees give piecewise-constant scores) go to the best source rank
        return pins[np.lexsort((-x[:, rrank_cols].max(axis=1), -scores))]

    def cv_ndcg(cfg: dict[str, int]) -> float:
        """Mean NDCG@10 of the validation item over 5 user folds of the val requests."""
        per_user = np.zeros(n_users)
        for f in range(5):
            fit_u, held_u = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            model = Ranker.fit(*stack(val_req, fit_u, val_target), names, RankerParams(seed=args.seed, **cfg))
            orders = [order(val_req[u][0], val_req[u][1], model.rank(val_req[u][1])) for u in held_u]
            per_user[held_u] = ndcg_of(orders, val_target[held_u])[1]
        return float(per_user.mean())

    t0 = time.time()
    tried = []
    for cfg in grid:
        tried.append((cv_ndcg(cfg), cfg))
        log(f"ranker CV {len(tried)}/{len(grid)}: val NDCG@10 {tried[-1][0]:.4f} {cfg}")
    best_cv, best_cfg = max(tried, key=lambda t: t[0])
    cv_s = time.time() - t0
    ranker = Ranker.fit(
        *stack(val_req, np.arange(n_users), val_target), names, RankerParams(seed=args.seed, **best_cfg)
    )
    log(f"ranker trained in {ranker.train_seconds:.1f} s with {best_cfg} (CV val NDCG@10 {best_cv:.4f})")
    blend_orders = [order(pins, x, ranker.rank(x)) for pins, x in test_req]
    results: dict[str, Any] = {}
    for name, orders in [("blend", blend_orders)] + [
        (src, [np.array([c.pin_id for c in lst]) for lst in test_lists[src]]) for src in SOURCES
    ]:
        hit, nd = ndcg_of(orders, test_target)
        m, lo, hi = bootstrap_ci(nd, n_boot=args.bootstrap, seed=args.seed)
        results[name] = {"ndcg_at_10": m, "ndcg_at_10_ci95": [lo, hi], "hr_at_10": float(hit.mean())}
        log(f"{name}: test NDCG@10 {m:.4f} [{lo:.4f}, {hi:.4f}] HR@10 {hit.mean():.4f}")
    recall = np.mean([np.any(p == t) for (p, _), t in zip(test_req, test_target, strict=True)])
    # per-request ranking time on 200 candidates (the features are built already)
    times = []
    for _pins, x in test_req:
        x200 = x[:200] if len(x) >= 200 else np.resize(x, (200, x.shape[1]))
        t0 = time.perf_counter()
        ranker.rank(x200)
        times.append((time.perf_counter() - t0) * 1000)
    best_src = max(SOURCES, key=lambda k: results[k]["ndcg_at_10"])
    imp = dict(zip(names, ranker.booster.feature_importance("gain").round(1).tolist(), strict=True))
    out = {
        "blend_ndcg_at_10": results["blend"]["ndcg_at_10"],
        "best_source_ndcg_at_10": results[best_src]["ndcg_at_10"],
        "best_source": best_src,
        "blend_over_best_source": results["blend"]["ndcg_at_10"] / max(results[best_src]["ndcg_at_10"], 1e-12),
        "rank_p95_ms": float(np.percentile(times, 95)),
        "rank_p50_ms": float(np.percentile(times, 50)),
        "train_s": round(ranker.train_seconds, 2),
        "ranker_config": best_cfg,
        "cv_val_ndcg_at_10": best_cv,
        "cv_s": round(cv_s, 1),
        "candidate_recall": float(recall),
        "methods": results,
        "feature_gain": imp,
        "users": n_users,
        "per_source": args.per_source,
        "wall_s": round(time.time() - t_start, 1),
    }
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("methods", "feature_gain")}, indent=2))


if __name__ == "__main__":
    main()
