"""The sequence model as a candidate source: a user's next pins from their engagement sequence.

Serving keeps a numpy item table (one row per pin; id part plus content part) and each user's recent
item indices. A user's embedding is the transformer's last hidden state over their newest `max_len`
engagements, computed on first use and cached; `observe` appends a new engagement and drops the cached
embedding, so the next request reflects it without retraining. `add_items` gives pins that appeared after
training a row from their content embedding alone (the model must have been trained with content), so
cold pins can be recommended. Snapshot layout (`sequence` kind): `model.pt` (state dict), `pin_ids.npy`
(row i -> pin id, row 0 = padding), `content.npy` when trained with content, `histories.npz`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.core.records import Candidate
from moodboard.core.snapshot import current_snapshot, read_manifest
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel

SEQUENCE_KIND = "sequence"
SOURCE_NAME = "sequence"


class SequenceSource:
    """Candidates from the sequence model. Thread-safe for concurrent `candidates` and `observe` calls."""

    name = SOURCE_NAME

    def __init__(
        self,
        model: SequenceModel,
        pin_ids: IntArray,
        histories: Mapping[int, Sequence[int]] | None = None,
        *,
        exclude_seen: bool = True,
    ) -> None:
        """Serve `model`; `pin_ids[i]` is the pin of item row i (row 0 = padding); histories hold pin ids."""
        model.eval()
        self.model = model
        self.cfg: SequenceConfig = model.cfg
        self.exclude_seen = exclude_seen
        with torch.no_grad():
            self._table = model.item_table().numpy().astype(np.float32)  # (N, C)
        self._pins = np.asarray(pin_ids, dtype=np.int64).copy()
        self._row = {int(p): i for i, p in enumerate(self._pins.tolist()) if i > 0}
        self._hist: dict[int, list[int]] = {}
        self._cache: dict[int, FloatArray] = {}
        self._lock = threading.Lock()
        for user, pins in (histories or {}).items():
            self._hist[int(user)] = [self._row[p] for p in pins if p in self._row]

    @property
    def n_items(self) -> int:
        """Pins the source can score (trained ones plus any added from content)."""
        return len(self._pins) - 1

    @property
    def pin_ids(self) -> IntArray:
        """Row i -> pin id (row 0 = padding), including pins added from content."""
        return self._pins.copy()

    def item_vectors(self, pin_ids: Sequence[int]) -> FloatArray:
        """L2-normalised item rows (n, C) of the given pins; zero rows for pins the model does not know."""
        rows = np.array([self._row.get(int(p), 0) for p in pin_ids], dtype=np.int64)
        v = self._table[rows].copy()
        v[rows == 0] = 0.0
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)

    def observe(self, user_id: int, pin_id: int) -> bool:
        """Append one engagement to a user's sequence; returns False for a pin the model has no row for."""
        row = self._row.get(int(pin_id))
        if row is None:
            return False
        with self._lock:
            hist = self._hist.setdefault(int(user_id), [])
            hist.append(row)
            del hist[: max(0, len(hist) - 4 * self.cfg.max_len)]  # keep memory bounded
            self._cache.pop(int(user_id), None)
        return True

    def add_items(self, pin_ids: Sequence[int], vectors: FloatArray) -> int:
        """Give new pins a row from their content embeddings (n, content_dim); returns how many were added.

        Raises:
            InvalidInputError: the model was trained without content or the vectors have the wrong width.
        """
        proj = self.model.content_proj
        if proj is None:
            raise InvalidInputError(
                "this sequence model was trained without content embeddings, so it cannot score new pins",
                "retrain with content (`moodboard train sequence` after `moodboard embed`)",
            )
        vec = np.asarray(vectors, dtype=np.float32)
        if vec.ndim != 2 or vec.shape != (len(pin_ids), self.cfg.content_dim):
            raise InvalidInputError(f"vectors must be ({len(pin_ids)}, {self.cfg.content_dim})", "embed the pins")
        new = [(int(p), v) for p, v in zip(pin_ids, vec, strict=True) if int(p) not in self._row]
        if not new:
            return 0
        with torch.no_grad():
            rows = proj(torch.from_numpy(np.stack([v for _, v in new]))).numpy()  # (n, C)
        with self._lock:
            start = len(self._pins)
            self._table = np.vstack([self._table, rows.astype(np.float32)])
            self._pins = np.append(self._pins, [p for p, _ in new])
            for j, (p, _) in enumerate(new):
                self._row[p] = start + j
        return len(new)

    def user_embedding(self, user_id: int) -> FloatArray | None:
        """The user's current embedding (C,), or None for a user with no known engagement."""
        uid = int(user_id)
        with self._lock:
            cached = self._cache.get(uid)
            hist = list(self._hist.get(uid, ()))[-self.cfg.max_len :]
            table = self._table
        if cached is not None:
            return cached
        if not hist:
            return None
        emb = torch.from_numpy(table[np.asarray(hist)])  # (T, C)
        with torch.inference_mode():  # no autograd bookkeeping at all on the serving path
            u = self.model.encode_last(emb).numpy()  # (C,)
        with self._lock:
            self._cache[uid] = u
        return u

    def score(self, user_id: int, pin_ids: Sequence[int]) -> FloatArray:
        """Scores of given pins for a user (-inf for pins without a row; 0 for a user with no history)."""
        u = self.user_embedding(user_id)
        rows = np.array([self._row.get(int(p), -1) for p in pin_ids], dtype=np.int64)
        out = np.full(len(rows), -np.inf, dtype=np.float32)
        if u is None:
            out[rows >= 0] = 0.0
            return out
        ok = rows >= 0
        out[ok] = self._table[rows[ok]] @ u
        return out

    def candidates(self, user_id: int, k: int) -> list[Candidate]:
        """The user's top-k next pins (already engaged pins left out); empty for a user with no history."""
        if k < 1:
            raise InvalidInputError(f"k must be >= 1, got {k}", "ask for at least one candidate", field="k")
        u = self.user_embedding(user_id)
        if u is None:
            return []
        scores = self._table @ u  # (N,)
        scores[0] = -np.inf
        if self.exclude_seen:
            with self._lock:
                scores[np.asarray(self._hist.get(int(user_id), []), dtype=np.int64)] = -np.inf
        k = min(k, len(scores) - 1)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            Candidate(int(self._pins[i]), float(scores[i]), SOURCE_NAME, ("next in your engagement sequence",))
            for i in top.tolist()
            if np.isfinite(scores[i])
        ]


def save_sequence_snapshot(
    folder: Path, model: SequenceModel, pin_ids: IntArray, histories: Mapping[int, Sequence[int]]
) -> dict[str, Any]:
    """Write the model, pin ids, content and histories into a snapshot folder; returns manifest fields."""
    torch.save(model.state_dict(), folder / "model.pt")
    np.save(folder / "pin_ids.npy", np.asarray(pin_ids, dtype=np.int64))
    users = np.array(sorted(histories), dtype=np.int64)
    lens = np.array([len(histories[int(u)]) for u in users], dtype=np.int64)
    flat = [int(p) for u in users.tolist() for p in histories[u]]
    np.savez(folder / "histories.npz", users=users, offsets=np.concatenate([[0], np.cumsum(lens)]), pins=flat)
    return {"model": model.cfg.to_dict(), "items": len(pin_ids) - 1, "users": len(users)}


def load_sequence_source(folder: Path) -> SequenceSource:
    """Load a `sequence` snapshot folder into a ready `SequenceSource`.

    Raises:
        SnapshotError: files are missing or do not match the manifest.
    """
    manifest = read_manifest(folder)
    try:
        cfg = SequenceConfig(**manifest["model"])
        state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
        pin_ids = np.load(folder / "pin_ids.npy")
        h = np.load(folder / "histories.npz")
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(
            f"sequence snapshot {folder} is unreadable: {exc}", "rerun `moodboard train sequence`"
        ) from exc
    content = state.get("content")
    model = SequenceModel(cfg, content)
    model.load_state_dict(state)
    offsets, pins = h["offsets"], h["pins"]
    histories = {int(u): pins[offsets[i] : offsets[i + 1]].tolist() for i, u in enumerate(h["users"].tolist())}
    return SequenceSource(model, pin_ids, histories)


def current_sequence_source(snapshots_dir: Path) -> SequenceSource | None:
    """The live `sequence` snapshot as a source, or None when none was trained yet."""
    folder = current_snapshot(snapshots_dir, SEQUENCE_KIND)
    return load_sequence_source(folder) if folder is not None else None
