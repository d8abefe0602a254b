"""Per-catalog relevance cutoffs, calibrated from the catalog's own score distributions.

Two samples are compared for each query modality (text, image):
- *matched*: the score of a query against the item it truly describes (an item's title against its
  own image; an augmented copy of an item's image against the original);
- *null top-1*: the best score anywhere in the catalog for a query about nothing in it (nonsense
  words made of random syllables; random-noise images).
The cutoff is the 95th percentile of the null top-1 scores, so about 19 of 20 queries with nothing
relevant come back empty instead of returning random pins. The manifest also records how many
matched pairs keep their item above the cutoff, so an overlap between the two is visible, not hidden.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import InvalidInputError

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


def choose_cutoff(matched: FloatArray, null_top: FloatArray, quantile: float = NULL_QUANTILE) -> dict[str, Any]:
    """Cutoff and its diagnostics from matched-pair scores and null-query top-1 scores.

    Args:
        matched: score of each query against its own item, (m,).
        null_top: best catalog score of each unrelated query, (u,).
        quantile: share of null queries that must fall below the cutoff.

    Returns:
        `{"cutoff", "matched_kept", "null_rejected", "matched_q10", "matched_q50", "null_q50",
        "null_q95", "n_matched", "n_null"}`; `matched_kept` is the share of matched pairs at or
        above the cutoff.
    """
    m = np.asarray(matched, dtype=np.float64).ravel()
    u = np.asarray(null_top, dtype=np.float64).ravel()
    if m.size == 0 or u.size == 0 or not (np.isfinite(m).all() and np.isfinite(u).all()):
        raise InvalidInputError("calibration needs finite matched and null scores", "index more items first")
    cutoff = float(np.quantile(u, quantile))
    return {
        "cutoff": cutoff,
        "quantile": quantile,
        "matched_kept": float((m >= cutoff).mean()),
        "null_rejected": float((u < cutoff).mean()),
        "matched_q10": float(np.quantile(m, 0.10)),
        "matched_q50": float(np.quantile(m, 0.50)),
        "null_q50": float(np.quantile(u, 0.50)),
        "null_q95": float(np.quantile(u, 0.95)),
        "n_matched": int(m.size),
        "n_null": int(u.size),
    }
