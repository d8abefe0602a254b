"""Learned-blend quality on MovieLens 100K (issue 14, acceptance 2): LambdaMART vs the best single source.

Run: `python benchmarks/ranker_quality.py --json OUT --sequence-models DIR --baselines SEQ_JSON`
(MOODBOARD_DATA_DIR or ../shared/data; DIR and SEQ_JSON from `sequence_quality.py --save-models DIR
--json SEQ_JSON`).

Split: `graph_quality.split` (seed 0): each user's ratings ordered by timestamp (ties by file order). A
*position split* `back = b` fits every source on all but each user's last b ratings and labels the request
by the b-th from last: b = 1 is the test split (the last rating), b = 2 the validation split, and
`--extra-positions n` adds b = 3 .. n + 2, more labelled requests per user for training the ranker, none
of which ever sees the test rating. Sources (the Pixie walk with the configuration graph_quality chose on
validation, popularity, the sequence model, and implicit ALS and item-kNN at the configurations
`sequence_quality.py` chose on validation) are fit on each split; each proposes its top `--per-source`
unrated items per user. The ranker is trained on the training splits' requests (b >= 2), its size chosen
by 5-fold cross-validation over users on those requests, then refit on all of them (ties in its score go to
the best source rank), and scored once on the test requests: NDCG@10 / HR@10 of the held-out item (0 when
no source proposed it), against each source's own ordering of its own list on the same users. Features:
per-source score, rank, reciprocal rank; number of sources; item popularity and age; genre match with the
user's recent genres; cosine of the sequence model's user embedding with the item's (MovieLens has no
prices, so the price-band feature is missing for every row). Timing: `Ranker.rank` on 200-candidate
requests. The sequence models of the validation and test splits come from `--sequence-models DIR`; those
of the extra positions are trained here with DIR's configuration for the epoch count it early-stopped at
(without DIR, every split's model is trained here for `--seq-epochs`).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_quality import data_dir, fit_graph, fit_implicit, fit_itemknn, fit_popularity, load  # benchmarks are scripts
from sequence_quality import WALK_CONFIG, full_scores, genre_content, user_sequences, user_times

from moodboard.core.records import Candidate
from moodboard.rank.blend_features import ItemStats, RequestContext, build_features, category_preferences, feature_names
from moodboard.rank.metrics import bootstrap_ci, loo_hit_ndcg_per_user
from moodboard.rank.ranker import Ranker, RankerParams
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel
from moodboard.rank.sequence_training import TrainConfig, left_pad, score_all, train_sequence_model

ALL_SOURCES = ("walk", "sequence", "popularity", "als", "itemknn")
# used only without --baselines (the configurations sequence_quality.py chose on validation)
DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "als": {"weighting": "binary", "factors": 128, "reg": 0.1, "alpha": 5.0, "iterations": 15},
    "itemknn": {"weighting": "binary", "k": 20, "shrink": 0},
}
Request = tuple[np.ndarray, np.ndarray]  # (pin ids (n,), features (n, F))


@dataclass
class SplitInputs:
    """A position split's source lists (per source, per user), item stats, request contexts and labels."""

    lists: dict[str, list[list[Candidate]]]
    stats: ItemStats
    ctxs: list[RequestContext]
    target: np.ndarray


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[ranker_quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def position_split(r: np.ndarray, back: int) -> tuple[np.ndarray, np.ndarray]:
    """(training ratings without each user's last `back`, each user's `back`-th from last item)."""
    order = np.lexsort((np.arange(len(r)), r[:, 3], r[:, 0]))
    r = r[order]
    ends = np.append(np.flatnonzero(np.diff(r[:, 0])) + 1, len(r))
    starts = np.append(0, ends[:-1])
    if np.any(ends - starts <= back):
        raise ValueError(f"every user needs more than {back} ratings")
    keep = np.ones(len(r), bool)
    for b in range(1, back + 1):
        keep[ends - b] = False
    return r[keep], r[ends - back, 1]


def top_lists(scores: np.ndarray, seen: list[np.ndarray], k: int, name: str) -> list[list[Candidate]]:
    """Each user's top-k unseen items of (n_users, n_items) scores, as candidates (pin id = item index)."""
    s = scores.copy()
    for u, cols in enumerate(seen):
        s[u, cols] = -np.inf
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return [[Candidate(int(i), float(s[u, i]), name) for i in row.tolist()] for u, row in enumerate(top)]


def sequence_model(
    back: int, train: np.ndarray, n_users: int, n_items: int, genres: np.ndarray, args: argparse.Namespace
) -> SequenceModel:
    """The sequence model of a position split: saved (validation, test) or trained here."""
    name = {1: "test", 2: "val"}.get(back, "")
    folder = Path(args.sequence_models) if args.sequence_models else None
    if folder is not None:
        cfg = SequenceConfig(**json.loads((folder / "config.json").read_text()))
        if name:
            state = torch.load(folder / f"{name}.pt", weights_only=True)
            model = SequenceModel(cfg, state.get("content"))
            model.load_state_dict(state)
            return model.eval()
        spec = json.loads((folder / "train.json").read_text())
        tcfg, ties = TrainConfig(**spec["train"]), bool(spec["shuffle_ties"])
    else:
        cfg, tcfg, ties = SequenceConfig(n_items=n_items, max_len=50), TrainConfig(epochs=args.seq_epochs), False
    log(f"back {back}: training the sequence model for {tcfg.epochs} epochs")
    content = genre_content(genres) if cfg.content_dim else None
    times = user_times(train, n_users) if ties else None
    return train_sequence_model(cfg, tcfg, user_sequences(train, n_users), content, times=times).model


def split_inputs(
    back: int,
    r: np.ndarray,
    genres: np.ndarray,
    configs: dict[str, dict[str, Any]],
    args: argparse.Namespace,
) -> SplitInputs:
    """Everything a position split's requests are built from: source lists, item stats, contexts, labels."""
    n_users, n_items = int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1
    train, target = position_split(r, back)
    seqs = user_sequences(train, n_users)
    seen = [q - 1 for q in seqs]
    users = np.arange(n_users)
    fits = {
        "walk": lambda: fit_graph(train, n_users, n_items, WALK_CONFIG, genres, args.seed),
        "popularity": lambda: fit_popularity(train, n_users, n_items, {"weighting": "binary"}),
        "als": lambda: fit_implicit("als", train, n_users, n_items, configs["als"], args.seed),
        "itemknn": lambda: fit_itemknn(train, n_users, n_items, configs["itemknn"]),
    }
    lists: dict[str, list[list[Candidate]]] = {}
    for src in args.sources:
        if src == "sequence":
            continue
        t0 = time.time()
        lists[src] = top_lists(full_scores(fits[src](), users, n_items), seen, args.per_source, src)
        log(f"back {back}: {src} lists in {time.time() - t0:.0f} s")
    model = sequence_model(back, train, n_users, n_items, genres, args)
    lists["sequence"] = top_lists(score_all(model, seqs)[:, 1:], seen, args.per_source, "sequence")
    with torch.no_grad():
        table = model.item_table()[1:].numpy()
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
    ctxs = [
        RequestContext(
            now=float(last_ts[u]),
            category_weights=category_preferences(first_genre[seen[u][-20:]].tolist()),
            user_vector=user_vec[u],
        )
        for u in range(n_users)
    ]
    return SplitInputs(lists, stats, ctxs, target)


def requests(inputs: SplitInputs, sources: tuple[str, ...]) -> list[Request]:
    """Per user (pin ids, features) of the union of the sources' lists."""
    return [
        build_features({s: inputs.lists[s][u] for s in sources}, sources, inputs.stats, ctx)
        for u, ctx in enumerate(inputs.ctxs)
    ]


def ndcg_of(orders: list[np.ndarray], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-user hit@10 and NDCG@10 of the target in each user's ordered pin list (absent = miss)."""
    ranks = np.array(
        [int(np.flatnonzero(o == t)[0]) if np.any(o == t) else 10**9 for o, t in zip(orders, targets, strict=True)]
    )
    return loo_hit_ndcg_per_user(ranks, 10)


def source_configs(path: str) -> dict[str, dict[str, Any]]:
    """ALS and item-kNN configurations: those sequence_quality.py chose on validation, or the defaults."""
    if not path:
        log("no --baselines: ALS and item-kNN at the default configurations")
        return dict(DEFAULT_CONFIGS)
    methods = json.loads(Path(path).read_text())["methods"]
    return {m: methods[m]["config"] if m in methods else DEFAULT_CONFIGS[m] for m in DEFAULT_CONFIGS}


def main() -> None:
    """Fit sources on every split, train the blend on the training splits, score it on test, write figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-source", type=int, default=100)
    ap.add_argument("--sources", default=",".join(ALL_SOURCES), help=f"comma-separated, from {ALL_SOURCES}")
    ap.add_argument("--extra-positions", type=int, default=0, help="labelled positions before the validation one")
    ap.add_argument("--sequence-models", default="", help="folder written by sequence_quality.py --save-models")
    ap.add_argument("--baselines", default="", help="sequence_quality.py's JSON (the ALS / item-kNN configs)")
    ap.add_argument("--seq-epochs", type=int, default=60)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--cache", default="", help="pickle of the source lists (reused when it exists)")
    ap.add_argument("--cv-only", action="store_true", help="stop after cross-validation (tuning: test unseen)")
    args = ap.parse_args()
    args.sources = tuple(s for s in args.sources.split(",") if s)
    if "sequence" not in args.sources or set(args.sources) - set(ALL_SOURCES):
        ap.error(f"--sources must include sequence and come from {ALL_SOURCES}")
    torch.set_num_threads(1)
    t_start, load_start = time.time(), os.getloadavg()[0]
    r, genres, _ = load(data_dir(args.data_dir))
    n_users = int(r[:, 0].max()) + 1
    names = feature_names(args.sources)
    configs = source_configs(args.baselines)
    backs = [2, *range(3, 3 + args.extra_positions)]
    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        with cache.open("rb") as fh:
            inputs = pickle.load(fh)  # our own file from an earlier run
        log(f"source lists from {cache}")
        if {1, *backs} - set(inputs) or any(set(args.sources) - set(i.lists) for i in inputs.values()):
            ap.error(f"{cache} lacks some positions or sources; delete it or pick another --cache")
    else:
        inputs = {b: split_inputs(b, r, genres, configs, args) for b in [*backs, 1]}
        if cache is not None:
            with cache.open("wb") as fh:
                pickle.dump(inputs, fh)
    train_sets = [(requests(inputs[b], args.sources), inputs[b].target) for b in backs]
    test_req, test_lists, test_target = requests(inputs[1], args.sources), inputs[1].lists, inputs[1].target

    def stack(users: np.ndarray) -> tuple[Any, ...]:
        """Features, labels and group sizes of these users' requests in every training split."""
        rows = [(req[u], tgt[u]) for req, tgt in train_sets for u in users]
        x = np.concatenate([q[1] for q, _ in rows])
        y = np.concatenate([(q[0] == t).astype(np.int64) for q, t in rows])
        return x, y, np.array([len(q[0]) for q, _ in rows])

    grid = [
        {"num_leaves": nl, "n_estimators": ne, "min_child_samples": mc}
        for nl in (7, 31) for ne in (50, 150, 400) for mc in (20, 100)
    ]  # fmt: skip
    folds = np.random.default_rng(args.seed).permutation(n_users) % 5
    rrank_cols = [names.index(f"{src}_rrank") for src in args.sources]

    def order(pins: np.ndarray, x: np.ndarray, scores: np.ndarray) -> np.ndarray:
        # ties in the ranker's score (few trees give piecewise-constant scores) go to the best source rank
        return pins[np.lexsort((-x[:, rrank_cols].max(axis=1), -scores))]

    def cv_ndcg(cfg: dict[str, int]) -> float:
        """Mean NDCG@10 of the labelled item over 5 user folds of the training-split requests."""
        per_req: list[np.ndarray] = []
        for f in range(5):
            fit_u, held_u = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            model = Ranker.fit(*stack(fit_u), names, RankerParams(seed=args.seed, **cfg))
            for req, tgt in train_sets:
                orders = [order(req[u][0], req[u][1], model.rank(req[u][1])) for u in held_u]
                per_req.append(ndcg_of(orders, tgt[held_u])[1])
        return float(np.concatenate(per_req).mean())

    t0 = time.time()
    tried = []
    for cfg in grid:
        tried.append((cv_ndcg(cfg), cfg))
        log(f"ranker CV {len(tried)}/{len(grid)}: NDCG@10 {tried[-1][0]:.4f} {cfg}")
    best_cv, best_cfg = max(tried, key=lambda t: t[0])
    cv_s = time.time() - t0
    if args.cv_only:
        print(json.dumps({"cv_ndcg_at_10": best_cv, "ranker_config": best_cfg, "sources": args.sources}))
        return
    ranker = Ranker.fit(*stack(np.arange(n_users)), names, RankerParams(seed=args.seed, **best_cfg))
    log(f"ranker trained in {ranker.train_seconds:.1f} s with {best_cfg} (CV NDCG@10 {best_cv:.4f})")
    blend_orders = [order(pins, x, ranker.rank(x)) for pins, x in test_req]
    results: dict[str, Any] = {}
    for name, orders in [("blend", blend_orders)] + [
        (src, [np.array([c.pin_id for c in lst]) for lst in test_lists[src]]) for src in args.sources
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
    best_src = max(args.sources, key=lambda k: results[k]["ndcg_at_10"])
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
        "cv_ndcg_at_10": best_cv,
        "cv_s": round(cv_s, 1),
        "candidate_recall": float(recall),
        "training_positions": backs,
        "training_requests": len(backs) * n_users,
        "sources": list(args.sources),
        "source_configs": configs,
        "methods": results,
        "feature_gain": imp,
        "users": n_users,
        "per_source": args.per_source,
        "wall_s": round(time.time() - t_start, 1),
        "load_1min": [load_start, os.getloadavg()[0]],
    }
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("methods", "feature_gain")}, indent=2))


if __name__ == "__main__":
    main()
