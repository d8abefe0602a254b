"""LRU cache of lexical (FTS5) answers per index snapshot.

A served lexical index snapshot is read-only, so its answer to a text is fixed until the snapshot swaps;
keys carry the index's file, the object and its write generation, so a swap or a write simply stops
hitting old entries, which then age out of the LRU. BM25 over FTS5 was the largest cost
of a repeated text search after pin hydration (BENCHMARKS.md "HTTP serving speed"), and shoppers and
conversations repeat texts all the time.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.index.lexical import LexicalIndex


class LexicalCache:
    """Cached `LexicalIndex.search` and `matches_all` answers (arrays are returned read-only)."""

    def __init__(self, capacity: int = 2048) -> None:
        """Remember up to `capacity` answers."""
        self.capacity = capacity
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def _put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def search(self, lexical: LexicalIndex, text: str, k: int, exclude: str) -> tuple[IntArray, FloatArray]:
        """`lexical.search(text, k, exclude=exclude)`, from memory when asked before."""
        key = ("search", str(lexical.path), id(lexical), lexical.generation, text, k, exclude)
        hit = self._get(key)
        if hit is None:
            ids, scores = lexical.search(text, k, exclude=exclude)
            ids.setflags(write=False)
            scores.setflags(write=False)
            hit = (ids, scores)
            self._put(key, hit)
        return hit  # type: ignore[no-any-return]

    def matches_all(self, lexical: LexicalIndex, text: str, ids: IntArray) -> IntArray:
        """`lexical.matches_all(text, ids)`, from memory when asked before for the same ids."""
        digest = hashlib.blake2b(np.ascontiguousarray(ids, dtype=np.int64).tobytes(), digest_size=16).digest()
        key = ("all", str(lexical.path), id(lexical), lexical.generation, text, digest)
        hit = self._get(key)
        if hit is None:
            hit = lexical.matches_all(text, ids)
            hit.setflags(write=False)
            self._put(key, hit)
        return hit  # type: ignore[no-any-return]
