"""Per-catalog relevance cutoffs, calibrated from the catalog's own score distributions.

Two samples are compared for each query modality (text, image):
- *relevant*: scores a query gets when the catalog does hold what it asks for: an item's title
  against its own image (text); an item's image against the best *other* catalog item, leave-one-out,
  as a new photo of something the catalog sells would (image);
- *null top-1*: the best score anywhere in the catalog for a query about nothing in it (nonsense
  words made of random syllables; random-noise and gradient images).
The `cutoff` is the threshold with the best balanced accuracy between the two (middle of the best
interval), so it sits in the gap when the distributions separate. When even the best threshold
separates them poorly (balanced accuracy < 0.75), the scores carry little evidence and the cutoff
falls back to the 95th percentile of the null top-1 scores. The manifest records both error rates
and `separable`, so an overlap is visible, not hidden. The
search service uses it as a query-level gate (nothing at or above it: an honest empty result) and
`floor` (the median null top-1) as a per-result minimum once the gate is passed.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import InvalidInputError

MIN_SEPARATION = 0.75
"""Below this best balanced accuracy the two samples count as not separable."""
NULL_QUANTILE = 0.95
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "gr", "pl", "tr", "qu")
_NUCLEI = ("a", "e", "i", "o", "u", "ai", "ou", "ee")
_CODAS = ("", "", "n", "r", "x", "lk", "mp", "st")


def null_texts(n: int, seed: int = 0) -> list[str]:
    """`n` seeded phrases of two to four made-up words, which name nothing in any catalog."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS) for _ in range(rng.randint(2, 3)))

    return [" ".join(word() for _ in range(rng.randint(2, 4))) for _ in range(n)]


def choose_cutoff(relevant: FloatArray, null_top: FloatArray) -> dict[str, Any]:
    """Cutoff and its diagnostics from relevant-query scores and null-query top-1 scores.

    Args:
        relevant: scores of queries whose answer is in the catalog, (m,).
        null_top: best catalog score of each unrelated query, (u,).

    Returns:
        `{"cutoff", "floor", "relevant_kept", "null_rejected", "balanced_accuracy", "relevant_q10",
        "relevant_q50", "null_q50", "null_q95", "n_relevant", "n_null"}`.
    """
    m = np.sort(np.asarray(relevant, dtype=np.float64).ravel())
    u = np.sort(np.asarray(null_top, dtype=np.float64).ravel())
    if m.size == 0 or u.size == 0 or not (np.isfinite(m).all() and np.isfinite(u).all()):
        raise InvalidInputError("calibration needs finite relevant and null scores", "index more items first")
    # For t in (c[i-1], c[i]] the pass/fail counts equal those at c[i] ("score >= t passes").
    cands = np.unique(np.concatenate([m, u, [u[-1] + 1e-6]]))
    kept = 1.0 - np.searchsorted(m, cands, side="left") / m.size  # share of relevant >= t
    rejected = np.searchsorted(u, cands, side="left") / u.size  # share of null < t
    bal = (kept + rejected) / 2
    best = np.flatnonzero(bal >= bal.max() - 1e-12)
    first = int(best[0])
    last = first
    while last + 1 < cands.size and bal[last + 1] >= bal.max() - 1e-12:
        last += 1  # the first run of best intervals
    cutoff = float(cands[0]) if first == 0 else float((cands[first - 1] + cands[last]) / 2)
    separable = bool(bal.max() >= MIN_SEPARATION)
    if not separable:
        # The scores barely tell relevant from nonsense here (e.g. an unaligned model): trust a vector
        # match only when it beats the best match of 95 % of nonsense queries.
        cutoff = float(np.quantile(u, NULL_QUANTILE))
    return {
        "cutoff": cutoff,
        "separable": separable,
        "floor": float(np.quantile(u, 0.5)),
        "relevant_kept": float((m >= cutoff).mean()),
        "null_rejected": float((u < cutoff).mean()),
        "balanced_accuracy": float(((m >= cutoff).mean() + (u < cutoff).mean()) / 2),
        "relevant_q10": float(np.quantile(m, 0.10)),
        "relevant_q50": float(np.quantile(m, 0.50)),
        "null_q50": float(np.quantile(u, 0.50)),
        "null_q95": float(np.quantile(u, 0.95)),
        "n_relevant": int(m.size),
        "n_null": int(u.size),
    }
