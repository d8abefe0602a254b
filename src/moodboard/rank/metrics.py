"""Top-K quality metrics (HR, NDCG, Recall, Precision) as pure functions over arrays.

Conventions: `ranked` is an (n_users, K') int array of recommended item ids, best first (pad with -1);
`relevant` is a sequence of per-user collections of relevant item ids. Every function returns the mean
over users. A user with no relevant item counts as 0 for HR, Recall and NDCG.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from moodboard.core.errors import InvalidInputError


def _prepare(ranked: ArrayLike, relevant: Sequence[Collection[int]], k: int) -> NDArray[np.bool_]:
    """Return an (n_users, k) boolean hit matrix after validating shapes and k."""
    if k < 1:
        raise InvalidInputError(f"k must be >= 1, got {k}", "pass a positive cut-off", field="k")
    arr = np.asarray(ranked)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidInputError(f"ranked must be 2-D (users, items), got shape {arr.shape}", "stack rows")
    if arr.shape[0] != len(relevant):
        raise InvalidInputError(
            f"ranked has {arr.shape[0]} rows but relevant has {len(relevant)}", "pass one row per user"
        )
    top = arr[:, :k]
    hits = np.zeros(top.shape, dtype=bool)
    for i, rel in enumerate(relevant):
        if len(rel):
            hits[i] = np.isin(top[i], np.fromiter(rel, dtype=np.int64, count=len(rel)))
    return hits


def hit_rate_at_k(ranked: ArrayLike, relevant: Sequence[Collection[int]], k: int) -> float:
    """Share of users with at least one relevant item in their top k (HR@K)."""
    hits = _prepare(ranked, relevant, k)
    return float(hits.any(axis=1).mean()) if len(hits) else 0.0


def recall_at_k(ranked: ArrayLike, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean share of each user's relevant items found in the top k (Recall@K)."""
    hits = _prepare(ranked, relevant, k)
    sizes = np.array([len(r) for r in relevant], dtype=np.float64)
    per_user = np.divide(hits.sum(axis=1), sizes, out=np.zeros(len(sizes)), where=sizes > 0)
    return float(per_user.mean()) if len(per_user) else 0.0


def precision_at_k(ranked: ArrayLike, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean share of the top k that is relevant (Precision@K; short lists still divide by k)."""
    hits = _prepare(ranked, relevant, k)
    return float((hits.sum(axis=1) / k).mean()) if len(hits) else 0.0


def ndcg_at_k(ranked: ArrayLike, relevant: Sequence[Collection[int]], k: int) -> float:
    """Mean normalised discounted cumulative gain with binary relevance (NDCG@K)."""
    hits = _prepare(ranked, relevant, k)
    if not len(hits):
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = (hits * discounts).sum(axis=1)
    n_ideal = np.minimum([len(r) for r in relevant], hits.shape[1])
    cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = cum[n_ideal]
    per_user = np.divide(dcg, idcg, out=np.zeros(len(dcg)), where=idcg > 0)
    return float(per_user.mean())


def rank_of_target(scores: ArrayLike, target_col: int = 0) -> NDArray[np.int64]:
    """0-based rank of the target column in each row of (n_users, n_candidates) scores.

    Ties count against the target (pessimistic), so a model that scores everything equally
    does not get credit for putting the target first.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or not 0 <= target_col < s.shape[1]:
        raise InvalidInputError(f"scores must be 2-D with column {target_col}", "pass (users, candidates)")
    target = s[:, target_col : target_col + 1]
    others = np.delete(s, target_col, axis=1)
    return (others >= target).sum(axis=1).astype(np.int64)


def loo_hr_ndcg(ranks: ArrayLike, k: int) -> tuple[float, float]:
    """HR@K and NDCG@K of a leave-one-out protocol from the 0-based rank of each held-out item."""
    if k < 1:
        raise InvalidInputError(f"k must be >= 1, got {k}", "pass a positive cut-off", field="k")
    r = np.asarray(ranks, dtype=np.int64)
    if not len(r):
        return 0.0, 0.0
    hit = r < k
    ndcg = np.where(hit, 1.0 / np.log2(r + 2.0), 0.0)
    return float(hit.mean()), float(ndcg.mean())


def full_rank_of_target(
    scores: ArrayLike, targets: ArrayLike, seen: Sequence[Collection[int]] | None = None
) -> NDArray[np.int64]:
    """0-based rank of each row's target among all items (full-ranking protocol), seen items left out.

    `scores` is (n_users, n_items); `targets` (n_users,) column indices; `seen[i]` the columns user i
    already engaged with (excluded from the ranking, the target never is). Ties count against the target.
    """
    s = np.array(scores, dtype=np.float64)
    t = np.asarray(targets, dtype=np.int64)
    if s.ndim != 2 or t.shape != (s.shape[0],):
        raise InvalidInputError("scores must be (users, items) and targets (users,)", "pass one target per row")
    target = s[np.arange(len(t)), t].copy()
    if seen is not None:
        for i, cols in enumerate(seen):
            if len(cols):
                s[i, np.fromiter(cols, dtype=np.int64, count=len(cols))] = -np.inf
    s[np.arange(len(t)), t] = -np.inf
    return (s >= target[:, None]).sum(axis=1).astype(np.int64)


def bootstrap_ci(
    values: ArrayLike, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of per-user values and its percentile bootstrap (1 - alpha) interval: (mean, low, high)."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(v.mean()), float(low), float(high)


def loo_hit_ndcg_per_user(ranks: ArrayLike, k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-user hit (0/1) and NDCG@K from the 0-based rank of each held-out item (for bootstrap intervals)."""
    r = np.asarray(ranks, dtype=np.int64)
    hit = (r < k).astype(np.float64)
    return hit, np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)
