"""Query vectors a server keeps: query texts by (model, text), query photos by (model, content digest).

Conversations re-send the same terms every turn, and encoding one short text costs milliseconds of CPU,
far more than the index search; a photo costs tens of milliseconds. Both caches are bounded LRUs. Texts
that miss in requests answered at the same time go to the text tower in one run (`core.coalesce`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.coalesce import Coalescer


class TextEncoder(Protocol):
    """What the text cache needs of an encoder: its model id and a batch text embedding."""

    model_id: str

    def embed_texts(self, texts: list[str]) -> FloatArray:
        """Embed texts."""
        ...


class TextVectorCache:
    """LRU cache of query-text vectors per model: conversations re-send the same terms every turn, and
    encoding one short text costs tens of milliseconds on a CPU, far more than the index search."""

    def __init__(self, capacity: int = 4096) -> None:
        """Remember up to `capacity` (model, text) vectors."""
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], FloatArray] = OrderedDict()
        self._lock = threading.Lock()
        self._batchers: dict[int, tuple[TextEncoder, Coalescer[str, FloatArray]]] = {}
        self.hits = 0
        self.misses = 0

    def _batcher(self, encoder: TextEncoder) -> Coalescer[str, FloatArray]:
        """The coalescer that merges concurrent misses of `encoder` into one run of its tower."""
        with self._lock:
            held = self._batchers.get(id(encoder))
            if held is None or held[0] is not encoder:
                held = (encoder, Coalescer(lambda texts: _embed_unique(encoder, texts)))
                self._batchers = {k: v for k, v in self._batchers.items() if k != id(encoder)}
                self._batchers[id(encoder)] = held
            return held[1]

    def embed(self, encoder: TextEncoder, texts: list[str]) -> FloatArray:
        """(n, d) vectors of `texts`, encoding only the ones not seen before for this encoder's model."""
        keys = [(encoder.model_id, t) for t in texts]
        with self._lock:
            found = {k: self._items[k] for k in keys if k in self._items}
            for k in found:
                self._items.move_to_end(k)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = np.stack(self._batcher(encoder)([t for _, t in missing]))
            with self._lock:
                for k, v in zip(missing, fresh, strict=True):
                    self._items[k] = v
                    found[k] = v
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return np.stack([found[k] for k in keys])


def _embed_unique(encoder: TextEncoder, texts: list[str]) -> list[FloatArray]:
    """One vector per text, each distinct text encoded once (concurrent callers may miss the same text)."""
    unique = list(dict.fromkeys(texts))
    vecs = np.asarray(encoder.embed_texts(unique), dtype=np.float32)
    at = {t: i for i, t in enumerate(unique)}
    return [vecs[at[t]] for t in texts]


class VectorCache:
    """A small thread-safe LRU of vectors keyed by (model id, key): query photos by content digest."""

    def __init__(self, capacity: int) -> None:
        """Remember up to `capacity` vectors."""
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], FloatArray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model_id: str, key: str) -> FloatArray | None:
        """The cached vector, or None."""
        with self._lock:
            found = self._items.get((model_id, key))
            if found is not None:
                self._items.move_to_end((model_id, key))
            return found

    def put(self, model_id: str, key: str, vector: FloatArray) -> None:
        """Remember a vector, dropping the least recently used beyond capacity."""
        with self._lock:
            self._items[(model_id, key)] = vector
            self._items.move_to_end((model_id, key))
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
