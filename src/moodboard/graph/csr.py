"""The taste graph as compact CSR arrays (both directions, int32 ids), saved as memory-mappable .npy.

Nodes are pins and *collections*. A collection is a board (kind 0) or a user's engagement history
(kind 1), so a catalog without boards (MovieLens) still forms a bipartite graph. Edge weights are 4-bit
levels packed two per byte (see `graph.weights`), so an edge costs 4 + 4 bytes of ids plus 1 byte of
weights over both directions, plus the index pointers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import Int32Array, IntArray
from moodboard.core.errors import NotFoundError, SnapshotError
from moodboard.graph.weights import level_values, unpack_nibbles

BOARD = 0
USER = 1
HIDDEN = 1
PURCHASED = 2
SAVED = 4
UNIFORM = 16  # flag in pin_maxw/coll_maxw: every edge of the node has the same level
FORMAT_VERSION = 3

_ARRAYS = (
    "pin_ids",
    "coll_ids",
    "coll_kind",
    "pin_indptr",
    "pin_adj",
    "pin_wq",
    "pin_maxw",
    "coll_indptr",
    "coll_adj",
    "coll_wq",
    "coll_maxw",
    "pin_feats",
    "hyg_indptr",
    "hyg_pins",
    "hyg_flags",
    "hist_indptr",
    "hist_pins",
    "hist_w",
)


@dataclass(frozen=True)
class TasteGraph:
    """Immutable pin <-> collection graph in CSR form; arrays may be memory-mapped.

    Attributes:
        pin_ids: (P,) int64 catalog pin ids, sorted; graph pin index i is `pin_ids[i]`.
        coll_ids: (C,) int64 board or user ids; boards first (sorted), then users (sorted).
        coll_kind: (C,) int8, BOARD or USER.
        pin_indptr/pin_adj: CSR pin -> collections; pin_adj holds int32 collection indices.
        pin_wq: packed 4-bit weight levels of pin_adj; pin_maxw: (P,) uint8 max level per pin, plus
            UNIFORM when all its edges share one level (the walk then skips the weight lookup).
        coll_indptr/coll_adj/coll_wq/coll_maxw: the same, collection -> pins.
        pin_feats: (P, F) int16 feature codes (-1 unknown); names and vocabularies in `features`.
        hyg_indptr/hyg_pins/hyg_flags: per collection (users only), pins hidden/purchased/saved.
        hist_indptr/hist_pins/hist_w: per collection (users only), positively engaged pins, most recent
            first, with their exact time-decayed weights (the edge levels are too coarse to order them).
        meta: build facts (events_until, pruned collections, settings).
    """

    pin_ids: IntArray
    coll_ids: IntArray
    coll_kind: NDArray[np.int8]
    pin_indptr: NDArray[np.integer[Any]]
    pin_adj: Int32Array
    pin_wq: NDArray[np.uint8]
    pin_maxw: NDArray[np.uint8]
    coll_indptr: NDArray[np.integer[Any]]
    coll_adj: Int32Array
    coll_wq: NDArray[np.uint8]
    coll_maxw: NDArray[np.uint8]
    pin_feats: NDArray[np.int16]
    hyg_indptr: NDArray[np.int64]
    hyg_pins: Int32Array
    hyg_flags: NDArray[np.uint8]
    hist_indptr: NDArray[np.int64]
    hist_pins: Int32Array
    hist_w: NDArray[np.float32]
    features: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_pins(self) -> int:
        """Number of pin nodes."""
        return len(self.pin_ids)

    @property
    def n_colls(self) -> int:
        """Number of collection nodes (boards plus users)."""
        return len(self.coll_ids)

    @property
    def n_edges(self) -> int:
        """Number of undirected pin-collection edges."""
        return len(self.pin_adj)

    @property
    def n_boards(self) -> int:
        """Number of board collections (they come first)."""
        return int(np.count_nonzero(np.asarray(self.coll_kind) == BOARD))

    def edge_bytes(self) -> int:
        """Bytes used by the edge structure: ids, weights and index pointers of both directions."""
        parts = ("pin_indptr", "pin_adj", "pin_wq", "pin_maxw", "coll_indptr", "coll_adj", "coll_wq")
        return int(sum(getattr(self, p).nbytes for p in (*parts, "coll_maxw")))

    def total_bytes(self) -> int:
        """Bytes of every array, including ids, features and hygiene lists."""
        return int(sum(getattr(self, name).nbytes for name in _ARRAYS))

    def pin_index(self, ids: IntArray | list[int]) -> Int32Array:
        """Map catalog pin ids to graph indices; -1 where a pin is not in the graph."""
        return _lookup(self.pin_ids, np.asarray(ids, dtype=np.int64))

    def user_index(self, ids: IntArray | list[int]) -> Int32Array:
        """Map user ids to collection indices; -1 where a user is not in the graph."""
        nb = self.n_boards
        idx = _lookup(np.asarray(self.coll_ids[nb:]), np.asarray(ids, dtype=np.int64))
        return np.where(idx >= 0, idx + nb, -1).astype(np.int32)

    def board_index(self, ids: IntArray | list[int]) -> Int32Array:
        """Map board ids to collection indices; -1 where a board is not in the graph."""
        return _lookup(np.asarray(self.coll_ids[: self.n_boards]), np.asarray(ids, dtype=np.int64))

    def require_pin(self, pin_id: int) -> int:
        """Return the graph index of a pin or raise NotFoundError."""
        idx = int(self.pin_index([pin_id])[0])
        if idx < 0:
            raise NotFoundError(
                f"pin {pin_id} is not in the taste graph",
                "check the id, or rebuild the graph with `moodboard graph build` after ingesting it",
                field="pin_id",
            )
        return idx

    def pin_degree(self, idx: Int32Array | NDArray[np.integer[Any]]) -> IntArray:
        """Degree of graph pins (number of collections)."""
        ind = np.asarray(self.pin_indptr)
        i = np.asarray(idx, dtype=np.int64)
        return (ind[i + 1] - ind[i]).astype(np.int64)

    def pin_neighbors(self, idx: int) -> tuple[Int32Array, NDArray[np.float32]]:
        """Collections of one pin with their relative weights (for explanations and profiles)."""
        lo, hi = int(self.pin_indptr[idx]), int(self.pin_indptr[idx + 1])
        return np.asarray(self.pin_adj[lo:hi]), self._levels(self.pin_wq, lo, hi)

    def coll_neighbors(self, idx: int) -> tuple[Int32Array, NDArray[np.float32]]:
        """Pins of one collection with their relative weights."""
        lo, hi = int(self.coll_indptr[idx]), int(self.coll_indptr[idx + 1])
        return np.asarray(self.coll_adj[lo:hi]), self._levels(self.coll_wq, lo, hi)

    def hygiene(self, coll: int) -> tuple[Int32Array, NDArray[np.uint8]]:
        """Pins a user hid, purchased or saved, with their flags (HIDDEN | PURCHASED | SAVED)."""
        lo, hi = int(self.hyg_indptr[coll]), int(self.hyg_indptr[coll + 1])
        return np.asarray(self.hyg_pins[lo:hi]), np.asarray(self.hyg_flags[lo:hi])

    def history(self, coll: int) -> tuple[Int32Array, NDArray[np.float32]]:
        """A user's engaged pins, most recent first, with their decayed weights."""
        lo, hi = int(self.hist_indptr[coll]), int(self.hist_indptr[coll + 1])
        return np.asarray(self.hist_pins[lo:hi]), np.asarray(self.hist_w[lo:hi])

    def describe_coll(self, idx: int) -> str:
        """Human label of a collection node, e.g. `board:12` or `user:3`."""
        kind = "board" if int(self.coll_kind[idx]) == BOARD else "user"
        return f"{kind}:{int(self.coll_ids[idx])}"

    @staticmethod
    def _levels(packed: NDArray[np.uint8], lo: int, hi: int) -> NDArray[np.float32]:
        if hi <= lo:
            return np.zeros(0, dtype=np.float32)
        start = lo - (lo & 1)
        raw = unpack_nibbles(np.asarray(packed[start // 2 : (hi + 1) // 2]), hi - start)
        return level_values()[raw[lo - start :]]

    def save(self, folder: Path) -> dict[str, Any]:
        """Write every array as .npy plus graph.json into `folder`; returns manifest fields."""
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(self, name)))
        info = {"format": FORMAT_VERSION, "features": self.features, "meta": self.meta}
        (folder / "graph.json").write_text(json.dumps(info, default=str))
        return {
            "pins": self.n_pins,
            "collections": self.n_colls,
            "edges": self.n_edges,
            "edge_bytes": self.edge_bytes(),
            "events_until": self.meta.get("events_until"),
        }

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> TasteGraph:
        """Open a saved graph; arrays are memory-mapped read-only when `mmap` is true."""
        try:
            info = json.loads((folder / "graph.json").read_text())
            if info.get("format") != FORMAT_VERSION:
                raise SnapshotError(
                    f"graph snapshot {folder} has format {info.get('format')}, expected {FORMAT_VERSION}",
                    "rebuild it with `moodboard graph build`",
                )
            # plain ndarray views over the mapping: same pages, but scalar indexing skips np.memmap's
            # Python-level __getitem__ (hundreds of calls per request)
            arrays = {
                name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None)) for name in _ARRAYS
            }
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"cannot read graph snapshot {folder}: {exc}", "rebuild the graph") from exc
        return cls(**arrays, features=info["features"], meta=info["meta"])

    def replace(self, **changes: Any) -> TasteGraph:
        """Return a copy with some fields replaced."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return TasteGraph(**values)


def _lookup(sorted_ids: IntArray, ids: IntArray) -> Int32Array:
    """Positions of `ids` in the sorted array `sorted_ids`, or -1 where absent."""
    if not len(sorted_ids):
        return np.full(len(ids), -1, dtype=np.int32)
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    found = np.asarray(sorted_ids)[pos_c] == ids
    return np.where(found, pos_c, -1).astype(np.int32)
