"""Nearest pins by content vector, for the taste graph's look-alike candidates and cold-pin fallback.

Below `exact_below` pins a matrix-vector product is exact and fast. Above it, a brute-force pass over
every pin costs ~100 ms per query at 2M pins x 256 dims, and a feed asks once per sampled interest, so
a faiss IVF index with 8-bit scalar-quantised codes (a quarter of the vectors' memory) proposes
candidates and the exact vectors re-score them. The index is built on a background thread as soon as
the object exists (~10 s at 2M pins); until it is ready, queries use the exact scan, so no request waits.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray


class ContentNeighbours:
    """Top-k rows of an (n, d) L2-normalised matrix by inner product with one of its rows."""

    def __init__(
        self,
        embeddings: FloatArray,
        *,
        exact_below: int = 100_000,
        nprobe: int = 16,
        oversample: int = 4,
        seed: int = 0,
    ) -> None:
        """Serve `embeddings` (kept by reference); IVF above `exact_below` rows, probing `nprobe` lists."""
        self.embeddings = embeddings
        self.exact_below = exact_below
        self.nprobe = nprobe
        self.oversample = oversample
        self.seed = seed
        self._index: Any = None
        self._lock = threading.Lock()
        if not self.exact:
            threading.Thread(target=self.warm, name="content-ivf", daemon=True).start()

    @property
    def exact(self) -> bool:
        """Whether queries scan every row (small catalogs)."""
        return len(self.embeddings) < self.exact_below

    def nearest(self, row: int, depth: int) -> tuple[IntArray, FloatArray]:
        """Up to `depth` rows most similar to `row` (itself included), best first, with their similarities."""
        n = len(self.embeddings)
        depth = min(depth, n)
        if depth <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = self.embeddings[row]
        index = self._index  # None until the background build is done
        if self.exact or index is None:
            sims = self.embeddings @ query  # (n,)
            cand = np.argpartition(-sims, depth - 1)[:depth] if depth < n else np.arange(n)
            cand_sims = sims[cand]
        else:
            _, found = index.search(query[None, :].astype(np.float32), depth * self.oversample)  # (1, m)
            cand = found[0][found[0] >= 0]
            cand_sims = self.embeddings[cand] @ query  # exact re-scoring of the proposals
        order = np.argsort(-cand_sims, kind="stable")[:depth]
        return cand[order].astype(np.int64), cand_sims[order].astype(np.float32)

    @property
    def ready(self) -> bool:
        """Whether queries use the IVF index (always False below `exact_below`)."""
        return not self.exact and self._index is not None

    def warm(self) -> Any:
        """Build the IVF-SQ8 index now if it is not built yet (trained on a seeded sample) and return it."""
        with self._lock:
            if self._index is None:
                import faiss

                x = np.ascontiguousarray(self.embeddings, dtype=np.float32)
                n, d = x.shape
                nlist = max(1, min(max(16, int(math.sqrt(n))), n // 39))  # faiss wants >= 39 points per list
                rng = np.random.default_rng(self.seed)
                sample = x[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
                quantizer = faiss.IndexFlatIP(d)
                index = faiss.IndexIVFScalarQuantizer(
                    quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
                )
                index.cp.seed = self.seed
                index.train(sample)
                index.add(x)
                index.nprobe = self.nprobe
                self._index = index
            return self._index
