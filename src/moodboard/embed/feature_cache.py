"""A content-addressed, on-disk cache of frozen-tower features (SQLite, one row per key).

Keys are `<tower id>:<content hash>`, so a re-run over unchanged images or texts recomputes nothing and
two catalogs that share images share features. Values are float32 vectors stored as raw bytes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from moodboard.core.arrays import FloatArray

_SCHEMA = "CREATE TABLE IF NOT EXISTS features (key TEXT PRIMARY KEY, dim INTEGER, value BLOB)"


def content_hash(data: bytes) -> str:
    """Return the sha256 hex digest of `data` (the key of an image or text in every cache)."""
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    """Return the content hash of a text (UTF-8)."""
    return content_hash(text.encode("utf-8"))


class FeatureCache:
    """Map `(tower_id, content_hash)` to a float32 feature vector, persisted in one SQLite file."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the cache file at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    @staticmethod
    def key(tower_id: str, digest: str) -> str:
        """Build the cache key of one item for one tower."""
        return f"{tower_id}:{digest}"

    def get_many(self, tower_id: str, digests: Sequence[str]) -> dict[str, FloatArray]:
        """Return the cached vectors among `digests`, keyed by digest (missing ones are absent)."""
        out: dict[str, FloatArray] = {}
        unique = list(dict.fromkeys(digests))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                keys = [self.key(tower_id, d) for d in chunk]
                marks = ",".join("?" * len(keys))
                rows = self._db.execute(f"SELECT key, value FROM features WHERE key IN ({marks})", keys)
                for key, value in rows:
                    out[key.rsplit(":", 1)[1]] = np.frombuffer(value, dtype=np.float32).copy()
        return out

    def put_many(self, tower_id: str, items: Iterable[tuple[str, FloatArray]]) -> int:
        """Store `(digest, vector)` pairs; return how many were written."""
        rows = [
            (self.key(tower_id, d), int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for d, v in items
        ]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO features VALUES (?, ?, ?)", rows)
            self._db.commit()
        return len(rows)

    def count(self, tower_id: str | None = None) -> int:
        """Return the number of cached vectors, for one tower or in total."""
        with self._lock:
            if tower_id is None:
                row = self._db.execute("SELECT COUNT(*) FROM features").fetchone()
            else:
                row = self._db.execute("SELECT COUNT(*) FROM features WHERE key LIKE ?", (f"{tower_id}:%",)).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the underlying database."""
        with self._lock:
            self._db.close()
