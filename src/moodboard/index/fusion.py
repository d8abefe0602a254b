"""Weighted reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) of ranked id lists.

`score(d) = sum_s w_s / (k + rank_s(d))`, ranks starting at 1. RRF needs no score calibration between
sources (cosine vs BM25), which is why it is the default for hybrid lexical + vector retrieval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class SourceHit:
    """Where one source ranked an item, and the raw score it gave."""

    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class FusedHit:
    """One fused result: the fused score and the hit of every source that found it."""

    pin_id: int
    score: float
    sources: dict[str, SourceHit] = field(default_factory=dict)


@dataclass(frozen=True)
class Fused:
    """A fused ranking as arrays, best first: what a caller needs for the whole pool (ids) without building a
    record per candidate; `hits(n)` builds the records of the first n."""

    ids: IntArray  # (n,)
    scores: FloatArray  # (n,) fused scores
    ranks: dict[str, IntArray]  # source -> (n,) 1-based rank in that source, 0 where it did not find the item
    raw: dict[str, FloatArray]  # source -> (n,) the source's own score (0 where absent)

    def hits(self, n: int | None = None) -> list[FusedHit]:
        """The first `n` (all by default) as `FusedHit`s with their per-source hits."""
        end = len(self.ids) if n is None else min(n, len(self.ids))
        out = []
        for i in range(end):
            sources = {s: SourceHit(int(r[i]), float(self.raw[s][i])) for s, r in self.ranks.items() if r[i] > 0}
            out.append(FusedHit(int(self.ids[i]), float(self.scores[i]), sources))
        return out


def fuse(
    rankings: Mapping[str, tuple[IntArray, FloatArray]],
    weights: Mapping[str, float] | None = None,
    k: int = 60,
) -> Fused:
    """Fuse ranked lists (best first, id -1 = padding) into one ranking, best first, in numpy.

    Ties are broken by the best single rank, then by id; an id a source lists twice counts at its first
    rank. Same order and scores as `rrf`, without a Python object per candidate (the search service fuses
    a pool of hundreds per request and shows twenty).
    """
    if k < 1:
        raise InvalidInputError(f"rrf k must be >= 1, got {k}", "use the default 60")
    weights = weights or {}
    per_source: list[tuple[str, float, IntArray, FloatArray]] = []
    for source, (ids, scores) in rankings.items():
        w = float(weights.get(source, 1.0))
        if w < 0:
            raise InvalidInputError(f"weight of {source!r} is negative", "use weights >= 0")
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        keep = ids >= 0
        ids, scores = ids[keep], scores[keep]
        _, first = np.unique(ids, return_index=True)
        first.sort()  # the first occurrence of each id, in rank order
        per_source.append((source, w, ids[first], scores[first]))
    every = np.concatenate([ids for _, _, ids, _ in per_source]) if per_source else np.zeros(0, np.int64)
    union = np.unique(every)  # (u,) sorted
    fused = np.zeros(union.shape[0], dtype=np.float64)
    best = np.full(union.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    ranks: dict[str, IntArray] = {}
    raw: dict[str, FloatArray] = {}
    for source, w, ids, scores in per_source:
        pos = np.searchsorted(union, ids)
        rank = np.arange(1, ids.shape[0] + 1, dtype=np.int64)
        fused[pos] += w / (k + rank)
        best[pos] = np.minimum(best[pos], rank)
        r = np.zeros(union.shape[0], dtype=np.int64)
        r[pos] = rank
        v = np.zeros(union.shape[0], dtype=np.float64)
        v[pos] = scores
        ranks[source], raw[source] = r, v
    order = np.lexsort((union, best, -fused))  # fused score first, then best rank, then id
    return Fused(
        union[order],
        fused[order],
        {s: r[order] for s, r in ranks.items()},
        {s: v[order] for s, v in raw.items()},
    )


def rrf(
    rankings: Mapping[str, tuple[IntArray, FloatArray]],
    weights: Mapping[str, float] | None = None,
    k: int = 60,
) -> list[FusedHit]:
    """Fuse ranked lists (best first, id -1 = padding) into one list, best first.

    Args:
        rankings: source name -> (ids, scores), each 1-D and best first.
        weights: source name -> weight (missing = 1.0; 0 removes the source's influence on order).
        k: the RRF constant; larger flattens the advantage of top ranks.

    Returns:
        Hits sorted by fused score (ties: best single rank, then id), each with its per-source hits.

    Example:
        >>> rrf({"vector": (np.array([3, 1]), np.array([.9, .5])), "lexical": (np.array([1]), np.array([7.]))})
    """
    return fuse(rankings, weights, k).hits()
