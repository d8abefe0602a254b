"""Features of one request's candidates for the learned blend (issue 14).

Every candidate in the union of the sources' lists gets, per source: its score, its 0-based rank and its
reciprocal rank (NaN / NaN / 0 where that source did not propose it); then how many sources proposed it,
the item's popularity (log of engagement count) and freshness (days since first engagement), whether its
price band matches the query state's, the weight of its category in the request's category preferences
(the query state's, or the user's recent engagement), and the cosine similarity of the user's embedding
with the item's. A value the request cannot know (no price in the query, no vectors) is NaN, which
LightGBM treats as missing. Catalogue-agnostic: categories and price bands are integer codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.records import Candidate

ITEM_FEATURES = ("n_sources", "log_popularity", "age_days", "price_band_match", "category_match", "embedding_cos")


def feature_names(sources: Sequence[str]) -> list[str]:
    """The feature columns, in order, for candidates from `sources`."""
    per_source = [f"{s}_{f}" for s in sources for f in ("score", "rank", "rrank")]
    return [*per_source, *ITEM_FEATURES]


@dataclass
class ItemStats:
    """Per-item facts, indexed by row; `row_of` maps a pin id to its row (unknown pins get NaNs)."""

    pin_ids: IntArray
    popularity: FloatArray  # engagement count
    first_seen: FloatArray  # epoch seconds of the first engagement (NaN = never)
    category: IntArray | None = None  # code, -1 unknown
    price_band: IntArray | None = None  # code, -1 unknown
    vectors: FloatArray | None = None  # (n, d) L2-normalised, zero rows where unknown
    row_of: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index the pins."""
        if not self.row_of:
            self.row_of = {int(p): i for i, p in enumerate(self.pin_ids.tolist())}


@dataclass(frozen=True)
class RequestContext:
    """What the request knows: the time, the query state's price band, category preferences, user vector."""

    now: float
    price_band: int | None = None
    category_weights: Mapping[int, float] | None = None
    user_vector: FloatArray | None = None


def union_pins(lists: Mapping[str, Sequence[Candidate]]) -> IntArray:
    """The candidates' pin ids in first-proposed order (sources in mapping order)."""
    seen: dict[int, None] = {}
    for cands in lists.values():
        for c in cands:
            seen.setdefault(int(c.pin_id), None)
    return np.fromiter(seen, dtype=np.int64, count=len(seen))


def build_features(
    lists: Mapping[str, Sequence[Candidate]], sources: Sequence[str], stats: ItemStats, ctx: RequestContext
) -> tuple[IntArray, FloatArray]:
    """(pin ids (n,), features (n, F)) for the union of the sources' candidate lists."""
    pins = union_pins(lists)
    pos = {int(p): i for i, p in enumerate(pins.tolist())}
    n, n_src = len(pins), len(sources)
    x = np.full((n, 3 * n_src + len(ITEM_FEATURES)), np.nan, dtype=np.float32)
    x[:, 2 : 3 * n_src : 3] = 0.0  # reciprocal rank 0 = not proposed
    count = np.zeros(n, np.float32)
    for j, name in enumerate(sources):
        for r, c in enumerate(lists.get(name, ())):
            i = pos[int(c.pin_id)]
            if np.isnan(x[i, 3 * j + 1]):  # a source listing a pin twice keeps its best rank
                x[i, 3 * j : 3 * j + 3] = (c.score, r, 1.0 / (r + 1))
                count[i] += 1
    base = 3 * n_src
    x[:, base] = count
    rows = np.array([stats.row_of.get(int(p), -1) for p in pins.tolist()], dtype=np.int64)
    known = rows >= 0
    kr = rows[known]
    x[known, base + 1] = np.log1p(stats.popularity[kr])
    x[known, base + 2] = (ctx.now - stats.first_seen[kr]) / 86_400.0
    if ctx.price_band is not None and stats.price_band is not None:
        band = stats.price_band[kr]
        x[known, base + 3] = np.where(band >= 0, (band == ctx.price_band).astype(np.float32), np.nan)
    if ctx.category_weights and stats.category is not None:
        cat = stats.category[kr]
        weights = np.array([ctx.category_weights.get(int(c), 0.0) for c in cat.tolist()], dtype=np.float32)
        x[known, base + 4] = np.where(cat >= 0, weights, np.nan)
    if ctx.user_vector is not None and stats.vectors is not None:
        u = np.asarray(ctx.user_vector, dtype=np.float32)
        norm = float(np.linalg.norm(u))
        if norm > 0:
            v = stats.vectors[kr]
            has = np.linalg.norm(v, axis=1) > 0
            x[known, base + 5] = np.where(has, v @ (u / norm), np.nan)
    return pins, x


def category_preferences(categories: Sequence[int], decay: float = 0.9) -> dict[int, float]:
    """Recency-weighted share of each category among a user's engaged items (newest last), summing to 1."""
    out: dict[int, float] = {}
    w = 1.0
    for c in reversed(list(categories)):
        if c >= 0:
            out[int(c)] = out.get(int(c), 0.0) + w
        w *= decay
    total = sum(out.values())
    return {c: v / total for c, v in out.items()} if total else {}
