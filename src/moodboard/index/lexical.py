"""Lexical BM25 index over title, description and attributes, in its own SQLite FTS5 file.

The file sits inside the index snapshot, so it is swapped atomically with the vectors. Queries are
tokenised here and every token is quoted, so user text can never inject FTS5 syntax.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import SnapshotError
from moodboard.core.records import Pin

LEXICAL_FILE = "lexical.sqlite"
_TOKEN = re.compile(r"\w+", re.UNICODE)
# BM25 column weights: a word in the title says more than one in the description.
_BM25_WEIGHTS = (3.0, 1.0, 1.5)
_MAX_TOKENS = 64


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of `text` (at most 64, order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN.findall(text.lower()):
        seen.setdefault(tok, None)
    return list(seen)[:_MAX_TOKENS]


def _expr(toks: Sequence[str], op: str) -> str:
    return f" {op} ".join('"' + t.replace('"', '""') + '"' for t in toks)


@dataclass(frozen=True, slots=True)
class LexicalDoc:
    """The searchable text of one pin."""

    pin_id: int
    title: str
    description: str = ""
    attributes: str = ""

    @classmethod
    def from_pin(cls, pin: Pin) -> LexicalDoc:
        """Collect a pin's title, description and attribute values (category, colour, merchant...)."""
        values: list[str] = [v for v in (pin.category, pin.color, pin.product.merchant) if v]
        values += [str(v) for v in pin.attributes.values() if isinstance(v, str | int | float) and str(v)]
        return cls(pin.id, pin.title, pin.description or "", " ".join(values))


class LexicalIndex:
    """BM25 search with SQLite FTS5 (porter stemming, diacritics folded)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        """Wrap an open connection; use `create` or `open` instead."""
        self._conn = conn
        self._lock = threading.Lock()
        self.path = path
        self.generation = 0  # bumped by every write, so answer caches (rank.lexical_cache) never go stale

    @classmethod
    def create(cls, path: Path) -> LexicalIndex:
        """Create an empty, writable index file at `path`."""
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5("
            "title, description, attributes, tokenize='porter unicode61 remove_diacritics 2')"
        )
        return cls(conn, path)

    @classmethod
    def open(cls, path: Path) -> LexicalIndex:
        """Open an index file read-only (as a server does)."""
        if not path.is_file():
            raise SnapshotError(f"lexical index {path} is missing", "run `moodboard index`")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM docs").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SnapshotError(f"lexical index {path} is unreadable: {exc}", "run `moodboard index`") from exc
        return cls(conn, path)

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def __len__(self) -> int:
        """Number of documents."""
        with self._lock:
            row = self._conn.execute("SELECT count(*) FROM docs").fetchone()
        return int(row[0])

    def add(self, docs: Iterable[LexicalDoc]) -> None:
        """Insert or replace documents by pin id."""
        rows = [(d.pin_id, d.title, d.description, d.attributes) for d in docs]
        with self._lock, self._conn:
            self._conn.executemany("DELETE FROM docs WHERE rowid = ?", [(r[0],) for r in rows])
            self._conn.executemany("INSERT INTO docs(rowid, title, description, attributes) VALUES (?, ?, ?, ?)", rows)
            self.generation += 1

    def remove(self, ids: Sequence[int]) -> None:
        """Delete documents by pin id."""
        with self._lock, self._conn:
            self._conn.executemany("DELETE FROM docs WHERE rowid = ?", [(int(i),) for i in ids])
            self.generation += 1

    def search(self, text: str, k: int, *, exclude: str = "", require_all: bool = False) -> tuple[IntArray, FloatArray]:
        """Pin ids and BM25 scores (higher is better) of the best `k` matches of `text`.

        Args:
            text: free text; any token may match (`require_all=False`) or all must.
            k: most results to return.
            exclude: documents containing any of these words are dropped (negative terms).
            require_all: AND instead of OR semantics.
        """
        toks = tokens(text)
        if not toks or k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        expr = _expr(toks, "AND" if require_all else "OR")
        neg = tokens(exclude)
        if neg:
            expr = f"({expr}) NOT ({_expr(neg, 'OR')})"
        w = _BM25_WEIGHTS
        sql = f"SELECT rowid, bm25(docs, {w[0]}, {w[1]}, {w[2]}) AS s FROM docs WHERE docs MATCH ? ORDER BY s LIMIT ?"
        with self._lock:
            rows: list[Any] = self._conn.execute(sql, (expr, int(k))).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, -np.array([r[1] for r in rows], dtype=np.float32)  # FTS5 bm25 is negative

    def matches_all(self, text: str, ids: IntArray) -> IntArray:
        """Those of `ids` whose document contains every token of `text` (after stemming)."""
        toks = tokens(text)
        if not toks or ids.shape[0] == 0:
            return np.zeros(0, dtype=np.int64)
        # One AND query, intersected here: `MATCH ? AND rowid IN (...)` makes FTS5 evaluate the expression
        # once per listed rowid, measured 23x slower on 9,583 Myntra docs (BENCHMARKS.md, HTTP serving speed).
        with self._lock:
            rows = self._conn.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (_expr(toks, "AND"),)).fetchall()
        found = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ids = np.asarray(ids, dtype=np.int64)
        return ids[np.isin(ids, found)]
