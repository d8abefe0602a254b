"""Exact (brute-force) vector index in numpy; also the shared slot bookkeeping of every local backend.

Items live in append-only *slots*. An update appends a new slot and tombstones the old one; a delete
tombstones. `compact()` (run on save when many slots are dead) rewrites the live slots densely.
Every mutation validates its whole input before it touches any state, so bad input leaves the index
untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError, NotFoundError, SnapshotError
from moodboard.core.query import Filters
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import FACET_FIELDS, AttributeTable, BoolArray, ItemAttrs
from moodboard.index.rwlock import ReadWriteLock
from moodboard.index.vector_index import as_ids, check_vectors

_QUERY_CHUNK_CELLS = 8_000_000  # queries x items scored at once by the exact path (~32 MB of float32)


def topk(scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
    """Column positions and values of the k largest scores per row, best first; (n, k) each."""
    m = scores.shape[1]
    kk = min(k, m)
    if kk == m:
        return topk_sorted(scores)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64), np.take_along_axis(vals, order, axis=1)


def topk_sorted(scores: FloatArray) -> tuple[IntArray, FloatArray]:
    """All columns of each row sorted by descending score."""
    order = np.argsort(-scores, axis=1, kind="stable").astype(np.int64)
    return order, np.take_along_axis(scores, order, axis=1)


class ExactIndex:
    """Brute-force inner-product search; correct at any size, fast enough up to ~10^5 items."""

    backend = "exact"

    def __init__(self, settings: IndexSettings, dim: int, model_id: str) -> None:
        """Create an empty index for `dim`-dimensional vectors produced by `model_id`."""
        if dim < 1:
            raise InvalidInputError(f"index dimension must be positive, got {dim}", "pass the embedder's dim")
        self.settings = settings
        self.dim = int(dim)
        self.model_id = model_id
        self._ids: IntArray = np.zeros(0, dtype=np.int64)
        self._alive: BoolArray = np.zeros(0, dtype=bool)
        self._attrs = AttributeTable()
        self._buf: FloatArray = np.zeros((0, self.dim), dtype=np.float32)
        self._n_slots = 0
        self._lookup: tuple[IntArray, IntArray] | None = None
        self._n_dead = 0
        self._lock = ReadWriteLock()

    @classmethod
    def create(cls, settings: IndexSettings, dim: int, model_id: str) -> ExactIndex:
        """Factory hook used by the registry."""
        return cls(settings, dim, model_id)

    # ---- storage hooks that ANN backends override -------------------------------------------------
    def _append_vectors(self, vectors: FloatArray) -> None:
        need = self._n_slots + vectors.shape[0]
        if need > self._buf.shape[0]:
            grown = np.zeros((max(need, 2 * self._buf.shape[0], 1024), self.dim), dtype=np.float32)
            grown[: self._n_slots] = self._buf[: self._n_slots]
            self._buf = grown
        self._buf[self._n_slots : need] = vectors

    def _vectors(self) -> FloatArray:
        """All slot vectors, (n_slots, d); a view, do not write."""
        return self._buf[: self._n_slots]

    def _replace_vectors(self, vectors: FloatArray) -> None:
        self._buf = np.ascontiguousarray(vectors, dtype=np.float32)

    def _ann_search(
        self, queries: FloatArray, k: int, mask: BoolArray | None, n_allowed: int
    ) -> tuple[IntArray, FloatArray] | None:
        """Approximate search over slots; None means "use exact search" (the default)."""
        return None

    # ---- id bookkeeping ---------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of live items."""
        return self._n_slots - self._n_dead

    def _slots_of(self, ids: IntArray) -> IntArray:
        """Live slot of each id, or -1."""
        if self._lookup is None:
            live = np.flatnonzero(self._alive).astype(np.int64)
            order = np.argsort(self._ids[live], kind="stable")
            self._lookup = (self._ids[live][order], live[order])
        sorted_ids, sorted_slots = self._lookup
        if sorted_ids.shape[0] == 0:
            return np.full(ids.shape[0], -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, sorted_ids.shape[0] - 1)
        return np.where(sorted_ids[pos] == ids, sorted_slots[pos], -1).astype(np.int64)

    @staticmethod
    def _as_ids(ids: Any) -> IntArray:
        return as_ids(ids)

    def _check_vectors(self, vectors: Any, n: int | None, what: str) -> FloatArray:
        return check_vectors(vectors, n, what, self.dim, self.model_id)

    # ---- mutations --------------------------------------------------------------------------------
    def add(self, ids: IntArray, vectors: FloatArray, attrs: Sequence[ItemAttrs] | None = None) -> None:
        """Insert items; an id that already exists is updated (old vector and attributes replaced)."""
        id_arr = self._as_ids(ids)
        vecs = self._check_vectors(vectors, id_arr.shape[0], "vectors")
        if np.unique(id_arr).shape[0] != id_arr.shape[0]:
            raise InvalidInputError("duplicate ids in one add() call", "deduplicate the batch first")
        rows = list(attrs) if attrs is not None else [ItemAttrs()] * id_arr.shape[0]
        if len(rows) != id_arr.shape[0]:
            raise InvalidInputError(f"{len(rows)} attribute rows for {id_arr.shape[0]} ids", "pass one per id")
        if id_arr.shape[0] == 0:
            return
        with self._lock.write():
            old = self._slots_of(id_arr)
            old = old[old >= 0]
            self._append_vectors(vecs)
            self._attrs.append(rows)
            self._ids = np.concatenate([self._ids, id_arr])
            self._alive = np.concatenate([self._alive, np.ones(id_arr.shape[0], dtype=bool)])
            self._alive[old] = False
            self._n_dead += int(old.shape[0])
            self._n_slots += id_arr.shape[0]
            self._lookup = None

    def remove(self, ids: IntArray) -> int:
        """Delete items by id; unknown ids are ignored. Returns how many were deleted."""
        id_arr = self._as_ids(ids)
        with self._lock.write():
            slots = self._slots_of(np.unique(id_arr))
            slots = slots[slots >= 0]
            self._alive[slots] = False
            self._n_dead += int(slots.shape[0])
            self._lookup = None
            return int(slots.shape[0])

    def compact(self) -> None:
        """Drop dead slots and rebuild the storage densely."""
        with self._lock.write():
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._alive).astype(np.int64)
        vectors = self._vectors()[keep].copy()
        self._ids = self._ids[keep]
        self._attrs = self._attrs.take(keep)
        self._alive = np.ones(keep.shape[0], dtype=bool)
        self._n_slots = int(keep.shape[0])
        self._n_dead = 0
        self._lookup = None
        self._replace_vectors(vectors)

    # ---- queries ----------------------------------------------------------------------------------
    def _check_k(self, k: int) -> int:
        if not isinstance(k, int | np.integer) or k < 1 or k > self.settings.max_k:
            raise InvalidInputError(
                f"k={k} is out of range", f"ask for 1..{self.settings.max_k} results (index.max_k)", field="k"
            )
        return int(k)

    def search(self, queries: FloatArray, k: int, flt: Filters | None = None) -> tuple[IntArray, FloatArray]:
        """Top-k ids and scores per query, (n, k) each; missing slots are id -1 and score -inf.

        Selective filters (at most `prefilter_max` matching items) are answered exactly on the
        filtered subset, so their recall is 1.0; wider filters go to the backend's ANN with a selector.
        """
        q = self._check_vectors(queries, None, "queries")
        kk = self._check_k(k)
        with self._lock.read():
            mask: BoolArray | None = None
            if flt is not None and not flt.is_empty():
                mask = self._alive & self._attrs.mask(flt)
            elif self._n_dead:
                mask = self._alive
            n_allowed = self._n_slots - self._n_dead if mask is None else int(mask.sum())
            if n_allowed == 0:
                return self._pad(np.zeros((q.shape[0], 0), np.int64), np.zeros((q.shape[0], 0), np.float32), kk)
            found = None
            if mask is None or n_allowed > self.settings.prefilter_max:
                found = self._ann_search(q, kk, mask, n_allowed)
            if found is None:
                found = self._exact_search(q, kk, mask)
            return self._pad(*found, kk)

    def _pad(self, slots: IntArray, scores: FloatArray, k: int) -> tuple[IntArray, FloatArray]:
        """Map slots to ids; pad to k columns with id -1 and score -inf."""
        if slots.shape[1] == k and slots.size and slots.min() >= 0:
            return self._ids[slots], scores  # the hot path: no padding needed
        out_ids = np.full((slots.shape[0], k), -1, dtype=np.int64)
        out_scores = np.full((slots.shape[0], k), -np.inf, dtype=np.float32)
        valid = slots >= 0
        out_ids[:, : slots.shape[1]] = np.where(valid, self._ids[np.where(valid, slots, 0)], -1)
        out_scores[:, : slots.shape[1]] = np.where(valid, scores, -np.inf)
        return out_ids, out_scores

    def _exact_search(self, q: FloatArray, k: int, mask: BoolArray | None) -> tuple[IntArray, FloatArray]:
        if mask is None:
            subset = None
            vecs = self._vectors()
        else:
            subset = np.flatnonzero(mask).astype(np.int64)
            vecs = self._vectors()[subset]
        step = max(1, _QUERY_CHUNK_CELLS // max(1, vecs.shape[0]))
        pos_parts, score_parts = [], []
        for start in range(0, q.shape[0], step):
            pos, vals = topk(q[start : start + step] @ vecs.T, k)
            pos_parts.append(pos)
            score_parts.append(vals.astype(np.float32))
        pos = np.concatenate(pos_parts)
        return (pos if subset is None else subset[pos]), np.concatenate(score_parts)

    def get_vectors(self, ids: IntArray) -> FloatArray:
        """Stored vectors of `ids`, (n, d). Raises NotFoundError when an id is not indexed."""
        id_arr = self._as_ids(ids)
        with self._lock.read():
            slots = self._slots_of(id_arr)
            if (slots < 0).any():
                missing = int(id_arr[slots < 0][0])
                raise NotFoundError(f"pin {missing} is not in the vector index", "run `moodboard index`")
            return self._vectors()[slots].copy()

    def contains(self, ids: IntArray) -> BoolArray:
        """Whether each id is live in the index."""
        with self._lock.read():
            return self._slots_of(self._as_ids(ids)) >= 0

    def allowed(self, ids: IntArray, flt: Filters) -> BoolArray:
        """Whether each id is live and passes `flt`."""
        with self._lock.read():
            slots = self._slots_of(self._as_ids(ids))
            ok = slots >= 0
            if flt.is_empty():
                return ok
            return ok & self._attrs.mask(flt)[np.where(ok, slots, 0)]

    def attribute_codes(self, ids: IntArray, name: str) -> IntArray:
        """Integer code of attribute `name` (a code field, e.g. "category") per id; -1 = missing or not indexed.

        Codes are only comparable within one index; they let a re-rank group results by value cheaply.
        """
        if name not in self._attrs.columns:
            raise InvalidInputError(f"unknown attribute field {name!r}", f"use {', '.join(self._attrs.fields)}")
        with self._lock.read():
            slots = self._slots_of(self._as_ids(ids))
            codes = self._attrs.last_codes(np.maximum(slots, 0), name) - 1  # code 0 = missing
            return np.where(slots >= 0, codes, -1)

    def count_allowed(self, flt: Filters) -> int:
        """Number of live items that pass `flt`."""
        with self._lock.read():
            return int((self._alive & self._attrs.mask(flt)).sum())

    def facet_counts(self, ids: IntArray, fields: Sequence[str] = FACET_FIELDS) -> dict[str, dict[str, int]]:
        """Facet counts over the given (retrieved) ids; ids not in the index are skipped."""
        with self._lock.read():
            slots = self._slots_of(self._as_ids(ids))
            return self._attrs.counts(slots[slots >= 0], fields)

    # ---- persistence ------------------------------------------------------------------------------
    def memory_bytes(self) -> int:
        """Bytes held by vectors, id maps, tombstones and attribute columns."""
        attrs = self._attrs.nbytes()
        return int(self._vectors().nbytes + self._ids.nbytes + self._alive.nbytes + attrs)

    def _save_vectors(self, folder: Path) -> dict[str, Any]:
        np.save(folder / "vectors.npy", self._vectors())
        return {"storage": "npy"}

    def _load_vectors(self, folder: Path, meta: dict[str, Any]) -> None:
        self._replace_vectors(np.load(folder / "vectors.npy"))

    def save(self, folder: Path) -> dict[str, Any]:
        """Write ids, attributes and vectors into `folder`; compacts first when many slots are dead."""
        with self._lock.write():
            if self._n_slots and self._n_dead / self._n_slots > self.settings.compact_dead_fraction:
                self._compact()
            np.save(folder / "ids.npy", self._ids)
            np.save(folder / "alive.npy", self._alive)
            self._attrs.save(folder)
            return {"count": len(self), "slots": self._n_slots, **self._save_vectors(folder)}

    @classmethod
    def load(cls, folder: Path, settings: IndexSettings) -> ExactIndex:
        """Load an index written by `save` (plus `save_vector_index`'s manifest)."""
        from moodboard.index.vector_index import read_vector_meta

        meta = dict(read_vector_meta(folder))
        index = cls(settings, int(meta["dim"]), str(meta["model_id"]))
        try:
            index._ids = np.load(folder / "ids.npy").astype(np.int64)
            index._alive = np.load(folder / "alive.npy").astype(bool)
            index._attrs = AttributeTable.load(folder)
            index._n_slots = int(index._ids.shape[0])
            index._n_dead = int((~index._alive).sum())
            index._load_vectors(folder, meta)
        except (OSError, ValueError, KeyError) as exc:
            raise SnapshotError(f"cannot load vector index from {folder}: {exc}", "rebuild the index") from exc
        if index._vectors().shape != (index._n_slots, index.dim) or len(index._attrs) != index._n_slots:
            raise SnapshotError(f"vector index in {folder} is inconsistent", "rebuild the index")
        return index
