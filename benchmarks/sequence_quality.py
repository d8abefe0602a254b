"""Sequence-model quality on MovieLens 100K (issue 14, acceptance 1): leave-one-out, two protocols.

Run: `python benchmarks/sequence_quality.py --json OUT` (MOODBOARD_DATA_DIR or ../shared/data).

Split: `graph_quality.split` (seed 0): each user's ratings ordered by timestamp (ties by file order); test =
the last one, validation = the second to last (model fit on everything before it). Protocols, scored on
the same fitted models: *full* ranking over every item the user has not rated in training, and *sampled*
ranking against the split's 100 unrated negatives. Ties count against the held-out item. HR@10 and NDCG@10
with percentile-bootstrap 95 % intervals over users (1,000 resamples).

Tuning happens on validation only, on full-ranking HR@10: the baselines by `graph_quality.coordinate_search`
with `--trials` evaluations each; the sequence model by early stopping (validation every `--eval-every`
epochs) at the configuration given on the command line (its defaults are what validation chose, see
BENCHMARKS.md: the rated items left out of the training softmax, `--mask-seen`, and same-second ratings
reordered at random each epoch, `--shuffle-ties`, since half of MovieLens' consecutive ratings share a
timestamp and their file order carries no signal), then refit on all but the last item for the best epoch count,
as every baseline is refit (`--no-refit` keeps SASRec's protocol instead: the model trained on all but the
last two items, tested with the validation item appended to its input); the test item is never seen in
training or selection;
the Pixie walk with the configuration `graph_quality.py` chose on this split's validation (`--walk-trials`
> 0 tunes it here instead). Baselines: popularity, recent popularity (ratings in the `window_days` before
the user's last training rating), item-kNN, implicit ALS, the Pixie walk. Torch runs on `--threads`
threads (1 is fastest on a busy shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice; set before numpy loads BLAS
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graph_quality import (  # benchmarks are scripts: reuse the walk benchmark's pieces
    GRIDS,
    coordinate_search,
    data_dir,
    fit_graph,
    fit_implicit,
    fit_itemknn,
    fit_popularity,
    load,
    split,
)

from moodboard.rank.metrics import bootstrap_ci, full_rank_of_target, loo_hit_ndcg_per_user, rank_of_target
from moodboard.rank.sequence_model import SequenceConfig
from moodboard.rank.sequence_training import TrainConfig, score_all, train_sequence_model

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (users, (n, m) items) -> (n, m) scores
# the walk configuration graph_quality.py chose on this split's validation (BENCHMARKS.md, issue 4)
WALK_CONFIG: dict[str, Any] = {
    "weighting": "binary", "walk_steps": 200_000, "restart": 0.9, "n_p": 2000, "n_v": 4, "degree_penalty": 0.7,
    "half_life_days": 10_000.0, "max_query_pins": 200, "recency_half_life": 1.5,
}  # fmt: skip
RECENT_GRID = {"window_days": [1.0, 3.0, 7.0, 14.0, 30.0, 60.0, 120.0], "weighting": ["binary", "rating"]}


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[sequence_quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def user_sequences(train: np.ndarray, n_users: int) -> list[np.ndarray]:
    """Each user's training items as 1-based indices, oldest first (ties by file order)."""
    t = train[np.lexsort((np.arange(len(train)), train[:, 3], train[:, 0]))]
    bounds = np.searchsorted(t[:, 0], np.arange(n_users + 1))
    return [t[bounds[u] : bounds[u + 1], 1] + 1 for u in range(n_users)]


def user_times(train: np.ndarray, n_users: int) -> list[np.ndarray]:
    """Each user's training timestamps, aligned with `user_sequences`."""
    t = train[np.lexsort((np.arange(len(train)), train[:, 3], train[:, 0]))]
    bounds = np.searchsorted(t[:, 0], np.arange(n_users + 1))
    return [t[bounds[u] : bounds[u + 1], 3].astype(np.float64) for u in range(n_users)]


def genre_content(genres: np.ndarray) -> np.ndarray:
    """(n_items + 1, n_genres) multi-hot genre rows (row 0 = padding), L2-normalised."""
    g = genres.astype(np.float32)
    g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return np.vstack([np.zeros((1, g.shape[1]), np.float32), g])


def fit_recent_popularity(train: np.ndarray, n_users: int, n_items: int, cfg: dict[str, Any]) -> Scorer:
    """Per user: how often each item was rated in the `window_days` before that user's last training rating."""
    w = np.ones(len(train)) if cfg["weighting"] == "binary" else train[:, 2].astype(np.float64)
    last = np.full(n_users, -np.inf)
    np.maximum.at(last, train[:, 0], train[:, 3].astype(np.float64))
    ts = train[:, 3].astype(np.float64)
    span = cfg["window_days"] * 86_400.0
    pop = np.zeros((n_users, n_items))
    for u in range(n_users):
        inside = (ts <= last[u]) & (ts > last[u] - span)
        pop[u] = np.bincount(train[inside, 1], weights=w[inside], minlength=n_items)
    overall = np.bincount(train[:, 1], weights=w, minlength=n_items)
    score = pop + 1e-6 * overall / overall.max()  # all-time popularity breaks ties
    return lambda users, items: np.take_along_axis(score[users], items, axis=1)


def chunked(scorer: Scorer, users: np.ndarray, items: np.ndarray, size: int = 128) -> np.ndarray:
    """Score in user chunks (ALS on the full catalogue would otherwise build an (n, m, d) array)."""
    return np.concatenate([scorer(users[i : i + size], items[i : i + size]) for i in range(0, len(users), size)])


def evaluate_both(
    score_full: np.ndarray, cands: np.ndarray, seen: list[np.ndarray], n_boot: int, seed: int
) -> dict[str, Any]:
    """Both protocols from (n_users, n_items) scores: full ranking and the 101 sampled candidates."""
    full_ranks = full_rank_of_target(score_full, cands[:, 0], seen)
    sampled_ranks = rank_of_target(np.take_along_axis(score_full, cands, axis=1))
    out: dict[str, Any] = {}
    for proto, ranks in (("full", full_ranks), ("sampled", sampled_ranks)):
        hit, nd = loo_hit_ndcg_per_user(ranks, 10)
        for name, vals in (("hr_at_10", hit), ("ndcg_at_10", nd)):
            mean, lo, hi = bootstrap_ci(vals, n_boot=n_boot, seed=seed)
            out[f"{proto}_{name}"] = mean
            out[f"{proto}_{name}_ci95"] = [lo, hi]
    return out


def full_scores(scorer: Scorer, users: np.ndarray, n_items: int) -> np.ndarray:
    """(n_users, n_items) scores of every item."""
    items = np.broadcast_to(np.arange(n_items), (len(users), n_items))
    return chunked(scorer, users, np.ascontiguousarray(items)).astype(np.float64)


def val_full_hr(score: np.ndarray, cands: np.ndarray, seen: list[np.ndarray]) -> tuple[float, float]:
    """Validation full-ranking HR@10 and NDCG@10."""
    hit, nd = loo_hit_ndcg_per_user(full_rank_of_target(score, cands[:, 0], seen), 10)
    return float(hit.mean()), float(nd.mean())


def main() -> None:
    """Run every method on the same split and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, help="where to write the figures")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--trials", type=int, default=12, help="validation evaluations per baseline")
    ap.add_argument("--walk-trials", type=int, default=0, help="0 = the walk configuration graph_quality chose")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--objective", default="next_item", choices=["next_item", "all_action"])
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--window", type=int, default=8, help="all_action window")
    ap.add_argument("--epochs", type=int, default=200, help="most epochs (early stopping on validation)")
    ap.add_argument("--eval-every", type=int, default=5, help="epochs between validation checks")
    ap.add_argument("--patience", type=int, default=6, help="validation checks without gain before stopping")
    ap.add_argument(
        "--mask-seen", action=argparse.BooleanOptionalAction, default=True,
        help="leave the user's rated items out of the training softmax",
    )  # fmt: skip
    ap.add_argument(
        "--shuffle-ties", action=argparse.BooleanOptionalAction, default=True,
        help="reorder ratings with the same timestamp at random each epoch (their file order is arbitrary)",
    )  # fmt: skip
    ap.add_argument("--content", choices=["none", "genres"], default="none", help="item content input")
    ap.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refit on all but the last item for the best epoch count, as the baselines are (default)",
    )
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--save-models", default="", help="folder to keep the two sequence models (ranker_quality)")
    ap.add_argument("--skip", default="", help="comma-separated methods to leave out (for quick runs)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t_start, load_start = time.time(), os.getloadavg()[0]
    r, genres, _ = load(data_dir(args.data_dir))
    n_users, n_items = int(r[:, 0].max()) + 1, int(r[:, 1].max()) + 1
    s = split(r, n_items, args.seed)
    users = s["users"]
    skip = set(filter(None, args.skip.split(",")))
    log(f"{len(r)} ratings, {n_users} users, {n_items} items")
    seqs = {k: user_sequences(s[k][0], n_users) for k in ("val", "test")}
    times = {k: user_times(s[k][0], n_users) for k in ("val", "test")} if args.shuffle_ties else None
    seen = {k: [q - 1 for q in seqs[k]] for k in ("val", "test")}

    fitters: dict[str, Callable[[np.ndarray, dict[str, Any]], Scorer]] = {
        "popularity": lambda tr, c: fit_popularity(tr, n_users, n_items, c),
        "recent_popularity": lambda tr, c: fit_recent_popularity(tr, n_users, n_items, c),
        "itemknn": lambda tr, c: fit_itemknn(tr, n_users, n_items, c),
        "als": lambda tr, c: fit_implicit("als", tr, n_users, n_items, c, args.seed),
        "walk": lambda tr, c: fit_graph(tr, n_users, n_items, c, genres, args.seed),
    }
    grids = {
        "popularity": GRIDS["popularity"], "recent_popularity": RECENT_GRID, "itemknn": GRIDS["itemknn"],
        "als": GRIDS["als"], "walk": GRIDS["walk"],
    }  # fmt: skip
    results: dict[str, Any] = {}
    for method, fit in fitters.items():
        if method in skip:
            continue
        t0 = time.time()
        rows: list[dict[str, Any]] = []
        budget = args.walk_trials if method == "walk" else args.trials
        if budget > 0:

            def val_score(
                cfg: dict[str, Any], fit: Any = fit, rows: list[dict[str, Any]] = rows, method: str = method
            ) -> float:
                hr, nd = val_full_hr(full_scores(fit(s["val"][0], cfg), users, n_items), s["val"][1], seen["val"])
                rows.append({"config": cfg, "val_full_hr_at_10": hr, "val_full_ndcg_at_10": nd})
                log(f"{method} trial {len(rows)}: val full HR@10 {hr:.4f} {cfg}")
                return hr + 1e-3 * nd

            coordinate_search(grids[method], budget, np.random.default_rng(args.seed + len(method)), val_score)
            best = max(rows, key=lambda t: (t["val_full_hr_at_10"], t["val_full_ndcg_at_10"]))
        else:
            best = {"config": WALK_CONFIG, "val_full_hr_at_10": None, "note": "config from graph_quality.py"}
        t1 = time.time()
        sc = full_scores(fit(s["test"][0], best["config"]), users, n_items)
        res = evaluate_both(sc, s["test"][1], seen["test"], args.bootstrap, args.seed)
        results[method] = {**res, **best, "trials": len(rows), "tuning_s": round(t1 - t0, 1)}
        log(f"{method}: TEST full HR@10 {res['full_hr_at_10']:.4f} sampled {res['sampled_hr_at_10']:.4f}")

    content = genre_content(genres) if args.content == "genres" else None
    cfg = SequenceConfig(
        n_items=n_items, max_len=args.max_len, d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
        dropout=args.dropout, objective=args.objective, all_action_window=args.window, mask_seen=args.mask_seen,
        content_dim=0 if content is None else content.shape[1],
    )  # fmt: skip
    tcfg = TrainConfig(
        epochs=args.epochs, lr=args.lr, eval_every=args.eval_every, patience=args.patience, seed=args.seed
    )
    val_t, val_c = seqs["val"], s["val"][1]

    def seq_val(model: Any) -> float:
        return val_full_hr(score_all(model, val_t)[:, 1:], val_c, seen["val"])[0]

    def seq_progress(e: int, n: int, m: dict[str, float]) -> None:
        if "val" in m or e % 5 == 0:
            val = f", val full HR@10 {m['val']:.4f}" if "val" in m else ""
            log(f"sequence epoch {e}/{n}: loss {m['loss']:.4f}{val}")

    t0 = time.time()
    fit_val = train_sequence_model(
        cfg, tcfg, val_t, content, evaluate=seq_val, progress=seq_progress, times=times["val"] if times else None
    )
    t1 = time.time()
    log(f"sequence: best validation {fit_val.best_score:.4f} at epoch {fit_val.best_epoch}")
    test_model = fit_val.model  # SASRec's protocol: the test input is the sequence with the validation item
    refit_s = 0.0
    if args.refit:
        refit = TrainConfig(epochs=fit_val.best_epoch, lr=args.lr, seed=args.seed)
        fit_test = train_sequence_model(
            cfg, refit, seqs["test"], content, progress=seq_progress, times=times["test"] if times else None
        )
        test_model, refit_s = fit_test.model, fit_test.seconds
    if args.save_models:
        folder = Path(args.save_models)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
        train_args = {"epochs": fit_val.best_epoch, "lr": args.lr, "seed": args.seed}
        # how to train the same model on another split (ranker_quality's extra labelled positions)
        (folder / "train.json").write_text(json.dumps({"train": train_args, "shuffle_ties": args.shuffle_ties}))
        torch.save(fit_val.model.state_dict(), folder / "val.pt")
        torch.save(test_model.state_dict(), folder / "test.pt")
    sc = score_all(test_model, seqs["test"])[:, 1:].astype(np.float64)
    res = evaluate_both(sc, s["test"][1], seen["test"], args.bootstrap, args.seed)
    results["sequence"] = {
        **res, "config": cfg.to_dict(), "val_full_hr_at_10": fit_val.best_score, "best_epoch": fit_val.best_epoch,
        "tuning_s": round(t1 - t0, 1), "refit_s": round(refit_s, 1), "refit": args.refit,
        "shuffle_ties": args.shuffle_ties, "content": args.content,
    }  # fmt: skip
    log(f"sequence: TEST full HR@10 {res['full_hr_at_10']:.4f} sampled {res['sampled_hr_at_10']:.4f}")

    baselines = [m for m in results if m != "sequence"]
    best_full = max(baselines, key=lambda m: results[m]["full_hr_at_10"]) if baselines else None
    best_sampled = max(baselines, key=lambda m: results[m]["sampled_hr_at_10"]) if baselines else None
    seq = results["sequence"]
    out = {
        "full_hr_at_10": seq["full_hr_at_10"],
        "full_ndcg_at_10": seq["full_ndcg_at_10"],
        "sampled_hr_at_10": seq["sampled_hr_at_10"],
        "sampled_ndcg_at_10": seq["sampled_ndcg_at_10"],
        "full_hr_at_10_ci95": seq["full_hr_at_10_ci95"],
        "best_baseline_full_hr_at_10": results[best_full]["full_hr_at_10"] if best_full else None,
        "best_baseline_full": best_full,
        "best_baseline_sampled_hr_at_10": results[best_sampled]["sampled_hr_at_10"] if best_sampled else None,
        "best_baseline_sampled": best_sampled,
        "beats_every_baseline_full": all(seq["full_hr_at_10"] > results[m]["full_hr_at_10"] for m in baselines),
        "beats_every_baseline_sampled": all(
            seq["sampled_hr_at_10"] > results[m]["sampled_hr_at_10"] for m in baselines
        ),
        "methods": results,
        "protocol": "leave-one-out by timestamp (graph_quality.split, seed "
        f"{args.seed}); full ranking over unrated items and 100 sampled negatives; ties pessimistic; "
        "tuned on the second-to-last item (full HR@10)",
        "users": len(users),
        "wall_s": round(time.time() - t_start, 1),
        "load_1min": [load_start, os.getloadavg()[0]],
    }
    Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print(f"{'method':<18}{'full HR@10':>11}{'full NDCG':>10}{'samp HR@10':>11}{'samp NDCG':>10}")
    for m, v in results.items():
        print(
            f"{m:<18}{v['full_hr_at_10']:>11.4f}{v['full_ndcg_at_10']:>10.4f}"
            f"{v['sampled_hr_at_10']:>11.4f}{v['sampled_ndcg_at_10']:>10.4f}"
        )


if __name__ == "__main__":
    main()
