"""Weighted reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) of ranked id lists.

`score(d) = sum_s w_s / (k + rank_s(d))`, ranks starting at 1. RRF needs no score calibration between
sources (cosine vs BM25), which is why it is the default for hybrid lexical + vector retrieval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    if k < 1:
        raise InvalidInputError(f"rrf k must be >= 1, got {k}", "use the default 60")
    weights = weights or {}
    fused: dict[int, float] = {}
    hits: dict[int, dict[str, SourceHit]] = {}
    for source, (ids, scores) in rankings.items():
        w = float(weights.get(source, 1.0))
        if w < 0:
            raise InvalidInputError(f"weight of {source!r} is negative", "use weights >= 0")
        rank = 0
        for pin_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
            if pin_id < 0 or (pin_id in hits and source in hits[pin_id]):
                continue
            rank += 1
            fused[pin_id] = fused.get(pin_id, 0.0) + w / (k + rank)
            hits.setdefault(pin_id, {})[source] = SourceHit(rank, float(score))
    order = sorted(fused, key=lambda p: (-fused[p], min(h.rank for h in hits[p].values()), p))
    return [FusedHit(p, fused[p], hits[p]) for p in order]
