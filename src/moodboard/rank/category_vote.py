"""Category-vote re-rank of a vector result list (pure: arrays in, arrays out).

Visual search systems predict the query's category and favour results of it (Pinterest's visual
search runs a category classifier next to its embeddings). Here the prediction needs no classifier:
the catalog categories of the `depth` nearest results vote, and every retrieved item gets
`weight * share of its category among the voters` added to its similarity. A query whose neighbours
mostly agree ("blue lamp": mostly lamps) pushes stray categories down; a mixed neighbourhood changes
little. Items of unknown category (code < 0) get no bonus. Depth and weight were chosen on a validation
split of the Myntra catalog (see BENCHMARKS.md, "Search quality").
"""

from __future__ import annotations

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError

DEFAULT_DEPTH = 20
DEFAULT_WEIGHT = 0.2


def category_vote_scores(scores: FloatArray, categories: IntArray, depth: int, weight: float) -> FloatArray:
    """Return re-scored similarities of one ranked list.

    Args:
        scores: (m,) similarities, best first (the order of the vector search).
        categories: (m,) integer category code per item; negative = unknown.
        depth: how many of the best items vote.
        weight: bonus for an item whose category got every vote.

    Returns:
        (m,) float32 scores; sort them descending for the new order.
    """
    s = np.asarray(scores, dtype=np.float32)
    cats = np.asarray(categories, dtype=np.int64)
    if s.shape != cats.shape or s.ndim != 1:
        raise InvalidInputError(f"scores {s.shape} and categories {cats.shape} must be equal 1-d shapes")
    if depth < 1 or weight < 0:
        raise InvalidInputError(f"depth must be >= 1 and weight >= 0, got {depth} and {weight}")
    if s.shape[0] == 0 or weight == 0:
        return s.copy()
    voters = cats[:depth]
    voters = voters[voters >= 0]
    if voters.shape[0] == 0:
        return s.copy()
    share = np.bincount(voters, minlength=int(cats.max()) + 1) / min(depth, s.shape[0])  # (n_categories,)
    bonus = np.where(cats >= 0, share[np.maximum(cats, 0)], 0.0)
    return (s + weight * bonus).astype(np.float32)


def category_vote_rerank(
    ids: IntArray, scores: FloatArray, categories: IntArray, depth: int = DEFAULT_DEPTH, weight: float = DEFAULT_WEIGHT
) -> tuple[IntArray, FloatArray]:
    """Re-order one (ids, scores) list by category votes (stable); returns (ids, scores) in the new order.

    The scores stay the original similarities (what a result's `score` means to callers and to the
    relevance cutoff); only the order carries the vote.
    """
    new = category_vote_scores(scores, categories, depth, weight)
    order = np.argsort(-new, kind="stable")
    return np.asarray(ids)[order], np.asarray(scores, dtype=np.float32)[order]
