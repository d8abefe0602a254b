"""The `VectorIndex` interface and the registry that builds and loads its backends by name.

Backends: `exact` (numpy brute force, any size), `faiss` (exact below `exact_threshold` items, then
a faiss HNSW graph) and `milvus` (a Milvus collection: a cluster, or Milvus Lite in tests). A new
backend registers itself with `register_backend` and must pass `tests/index/test_contract.py`.

Example:
    >>> index = make_index(settings.index, dim=256, model_id="lite-v1")
    >>> index.add(ids, vectors, attrs)
    >>> ids, scores = index.search(queries, k=10, flt=Filters(colours=("red",)))
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import ConfigError, InvalidInputError, SnapshotError
from moodboard.core.query import Filters
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import BoolArray, ItemAttrs

VECTOR_MANIFEST = "vector_index.json"


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over L2-normalised vectors (inner product), keyed by int64 ids."""

    backend: str
    dim: int
    model_id: str

    def __len__(self) -> int:
        """Number of live items."""
        ...

    def add(self, ids: IntArray, vectors: FloatArray, attrs: Sequence[ItemAttrs] | None = None) -> None:
        """Insert items; an id that already exists is updated (its old vector is replaced)."""
        ...

    def remove(self, ids: IntArray) -> int:
        """Delete items by id; returns how many existed."""
        ...

    def search(self, queries: FloatArray, k: int, flt: Filters | None = None) -> tuple[IntArray, FloatArray]:
        """Top-k ids and scores per query, (n, k) each; missing slots are id -1 and score -inf."""
        ...

    def get_vectors(self, ids: IntArray) -> FloatArray:
        """Stored vectors of `ids`, (n, d)."""
        ...

    def contains(self, ids: IntArray) -> BoolArray:
        """Whether each id is live in the index."""
        ...

    def allowed(self, ids: IntArray, flt: Filters) -> BoolArray:
        """Whether each id is live and passes `flt`."""
        ...

    def facet_counts(self, ids: IntArray, fields: Sequence[str]) -> dict[str, dict[str, int]]:
        """Facet counts over the given (retrieved) ids."""
        ...

    def attribute_codes(self, ids: IntArray, name: str) -> IntArray:
        """Integer code of a code attribute (e.g. "category") per id; -1 = missing or not indexed."""
        ...

    def count_allowed(self, flt: Filters) -> int:
        """Number of live items that pass `flt`."""
        ...

    def save(self, folder: Path) -> dict[str, Any]:
        """Write the index into an empty folder; returns manifest fields."""
        ...


def as_ids(ids: Any) -> IntArray:
    """Validate ids as a 1-D integer array (int64), for every backend.

    Raises:
        InvalidInputError: when they are not one-dimensional integers.
    """
    arr = np.asarray(ids)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise InvalidInputError("ids must be a 1-D array of integers", "pass e.g. np.array([1, 2, 3])")
    return arr.astype(np.int64)


def check_vectors(vectors: Any, n: int | None, what: str, dim: int, model_id: str) -> FloatArray:
    """Validate vectors as a finite (n, dim) float32 array, one per id when `n` is given, for every backend.

    Raises:
        InvalidInputError: on a wrong shape or count, or NaN/infinity.
    """
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidInputError(
            f"{what} have shape {tuple(arr.shape)}, expected (n, {dim})",
            f"use vectors from the index's model {model_id!r} (dim {dim})",
            field=what,
        )
    if n is not None and arr.shape[0] != n:
        raise InvalidInputError(f"{arr.shape[0]} {what} for {n} ids", "pass one vector per id", field=what)
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{what} contain NaN or infinity", "check the embedder output", field=what)
    return np.ascontiguousarray(arr)


IndexFactory = Callable[[IndexSettings, int, str], VectorIndex]
IndexLoader = Callable[[Path, IndexSettings], VectorIndex]

_BUILTIN: dict[str, str] = {
    "exact": "moodboard.index.exact:ExactIndex",
    "faiss": "moodboard.index.faiss_hnsw:FaissHNSWIndex",
    "milvus": "moodboard.index.milvus:MilvusIndex",
}
_REGISTRY: dict[str, Any] = {}


def register_backend(name: str, cls: Any) -> None:
    """Register a class with `create(settings, dim, model_id)` and `load(folder, settings)` classmethods."""
    _REGISTRY[name] = cls


def _backend_class(name: str) -> Any:
    if name in _REGISTRY:
        return _REGISTRY[name]
    target = _BUILTIN.get(name)
    if target is None:
        known = sorted({*_BUILTIN, *_REGISTRY})
        raise ConfigError(f"unknown vector index backend {name!r}", f"set index.backend to one of {known}")
    module, attr = target.split(":")
    cls = getattr(importlib.import_module(module), attr)
    _REGISTRY[name] = cls
    return cls


def backend_names() -> list[str]:
    """Names of every known backend."""
    return sorted({*_BUILTIN, *_REGISTRY})


def make_index(settings: IndexSettings, dim: int, model_id: str, backend: str | None = None) -> VectorIndex:
    """Create an empty index of `settings.backend` (or `backend`) for vectors of `dim` from `model_id`."""
    index: VectorIndex = _backend_class(backend or settings.backend).create(settings, dim, model_id)
    return index


def save_vector_index(index: VectorIndex, folder: Path) -> dict[str, Any]:
    """Save `index` into `folder` with a small manifest naming its backend; returns that manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"backend": index.backend, "dim": index.dim, "model_id": index.model_id, **index.save(folder)}
    (folder / VECTOR_MANIFEST).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return meta


def read_vector_meta(folder: Path) -> Mapping[str, Any]:
    """Read the manifest that `save_vector_index` wrote."""
    try:
        meta: dict[str, Any] = json.loads((folder / VECTOR_MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"no readable vector index in {folder}: {exc}", "run `moodboard index`") from exc
    return meta


def load_vector_index(folder: Path, settings: IndexSettings) -> VectorIndex:
    """Load the index saved in `folder`, with the backend named in its manifest."""
    meta = read_vector_meta(folder)
    index: VectorIndex = _backend_class(str(meta["backend"])).load(folder, settings)
    return index
