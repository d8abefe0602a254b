"""Embedded ANN backend: exact search below `exact_threshold` items, a faiss HNSW graph above.

Why faiss HNSW (measured by `benchmarks/ann_choice.py` at 200k x 256 and `benchmarks/search_speed.py`
at 1M; figures in BENCHMARKS.md):
- faiss HNSW, hnswlib and usearch at M=16 reached recall@10 >= 0.95 with the same search breadth and
  within ~20 % of each other's single-query QPS on the shared 2-core machine (1.6k-1.9k QPS), at the
  same ~1.17 KB per item; speed does not separate them.
- faiss-cpu is already a dependency and ships wheels (hnswlib has only an sdist on our index, so it
  compiles at install); usearch's Python API has no predicate filter, only post-filtering.
- faiss takes a native `IDSelectorBitmap` for filters and deletes (no Python call per node) and
  exposes its raw vectors zero-copy, which the exact pre-filter path reads without a second copy
  (memory stays at ~1.2 KB per item at d=256, under the 1.5 KB goal).
- IVF-Flat was faster unfiltered on the synthetic data (its 1,000 generator clusters match the 1,024
  IVF lists, a best case), but it needs training and per-catalog nlist/nprobe tuning; HNSW needs none.
Deletes and updates are tombstones (masked with the same selector) plus compaction on save.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import DependencyError
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import BoolArray
from moodboard.index.exact import ExactIndex

_MAX_EF = 4096


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a hard dependency
        raise DependencyError("faiss is not installed", "pip install faiss-cpu") from exc
    return faiss


class FaissHNSWIndex(ExactIndex):
    """faiss `IndexHNSWFlat` (inner product) once the index holds `exact_threshold` slots."""

    backend = "faiss"

    def __init__(self, settings: IndexSettings, dim: int, model_id: str) -> None:
        """Create an empty index; the HNSW graph is built when the size threshold is crossed."""
        super().__init__(settings, dim, model_id)
        self._hnsw: Any = None
        self._ef_applied = -1

    @property
    def uses_ann(self) -> bool:
        """True when searches go through the HNSW graph."""
        return self._hnsw is not None

    def _new_hnsw(self, vectors: FloatArray) -> Any:
        faiss = _faiss()
        hnsw = faiss.IndexHNSWFlat(self.dim, self.settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.settings.hnsw_ef_construction
        hnsw.hnsw.efSearch = self.settings.hnsw_ef_search
        self._ef_applied = -1
        if vectors.shape[0]:
            hnsw.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return hnsw

    def _append_vectors(self, vectors: FloatArray) -> None:
        if self._hnsw is not None:
            self._hnsw.add(vectors)
            return
        super()._append_vectors(vectors)
        total = self._n_slots + vectors.shape[0]
        if total >= max(1, self.settings.exact_threshold):
            self._hnsw = self._new_hnsw(self._buf[:total])
            self._buf = np.zeros((0, self.dim), dtype=np.float32)

    def _vectors(self) -> FloatArray:
        if self._hnsw is None:
            return super()._vectors()
        faiss = _faiss()
        storage = faiss.downcast_index(self._hnsw.storage)
        n = int(self._hnsw.ntotal)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        flat: FloatArray = faiss.rev_swig_ptr(storage.get_xb(), n * self.dim)
        return flat.reshape(n, self.dim)

    def _replace_vectors(self, vectors: FloatArray) -> None:
        if vectors.shape[0] >= max(1, self.settings.exact_threshold):
            self._hnsw = self._new_hnsw(vectors)
            self._buf = np.zeros((0, self.dim), dtype=np.float32)
        else:
            self._hnsw = None
            super()._replace_vectors(vectors)

    def _ann_search(
        self, queries: FloatArray, k: int, mask: BoolArray | None, n_allowed: int
    ) -> tuple[IntArray, FloatArray] | None:
        if self._hnsw is None:
            return None
        ef = max(self.settings.hnsw_ef_search, k)
        if mask is None and ef == self.settings.hnsw_ef_search:
            # Hot path: no per-call parameter object; efSearch lives on the index (set once per
            # settings change, compared as a Python int since reading the SWIG field costs ~1 us).
            if self._ef_applied != ef:
                self._hnsw.hnsw.efSearch = ef
                self._ef_applied = ef
            scores, slots = self._hnsw.search(queries, k)
            return slots, scores
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef  # per call, so concurrent searches never race on the shared field
        if mask is None:
            scores, slots = self._hnsw.search(queries, k, params=params)
            return slots, scores
        # The selector hides non-matching nodes from the result heap, not from navigation, so a
        # filter that keeps a fraction s of the items needs ~ef/s candidates for the same recall.
        selectivity = max(n_allowed / max(1, self._n_slots), 1e-6)
        ef = min(_MAX_EF, int(np.ceil(ef / selectivity)))
        bitmap = np.packbits(mask, bitorder="little")
        params.sel = faiss.IDSelectorBitmap(mask.shape[0], faiss.swig_ptr(bitmap))
        params.efSearch = ef
        scores, slots = self._hnsw.search(queries, k, params=params)
        del bitmap  # the selector borrowed this buffer during the search
        return slots.astype(np.int64), scores.astype(np.float32)

    def memory_bytes(self) -> int:
        """Bytes held by vectors, the HNSW graph, id maps, tombstones and attributes."""
        total = super().memory_bytes()
        if self._hnsw is not None:
            graph = self._hnsw.hnsw
            total += int(graph.neighbors.size()) * 4 + int(graph.offsets.size()) * 8
            total += int(graph.levels.size()) * 4 + int(graph.assign_probas.size()) * 8
        return total

    def _save_vectors(self, folder: Path) -> dict[str, Any]:
        if self._hnsw is None:
            return super()._save_vectors(folder)
        _faiss().write_index(self._hnsw, str(folder / "hnsw.faiss"))
        return {"storage": "faiss_hnsw", "hnsw_m": self.settings.hnsw_m}

    def _load_vectors(self, folder: Path, meta: dict[str, Any]) -> None:
        if meta.get("storage") != "faiss_hnsw":
            super()._load_vectors(folder, meta)
            return
        self._hnsw = _faiss().read_index(str(folder / "hnsw.faiss"))
        self._hnsw.hnsw.efSearch = self.settings.hnsw_ef_search
        self._ef_applied = -1
        self._buf = np.zeros((0, self.dim), dtype=np.float32)
