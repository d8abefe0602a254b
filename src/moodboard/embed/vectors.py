"""The `vectors` snapshot format: one immutable folder of pin ids and their embeddings.

The embed job writes it; serving (the taste graph's content vectors) and later jobs read it, so the
format lives here rather than in the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import SnapshotError
from moodboard.core.snapshot import current_snapshot, verify_snapshot, write_snapshot

VECTORS_KIND = "vectors"


def write_vectors(
    snapshots_dir: Path,
    ids: IntArray,
    vectors: FloatArray,
    manifest: dict[str, Any],
) -> Path:
    """Publish `ids.npy` (n,) int64 and `vectors.npy` (n, d) float32 as a new `vectors` snapshot."""

    def build(folder: Path) -> dict[str, Any]:
        np.save(folder / "ids.npy", np.asarray(ids, dtype=np.int64))
        np.save(folder / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        return {"count": len(ids), "dim": int(vectors.shape[1]) if vectors.ndim == 2 else 0}

    return write_snapshot(snapshots_dir, VECTORS_KIND, build, manifest)


def read_vectors(folder: Path) -> tuple[IntArray, FloatArray, dict[str, Any]]:
    """Load a vectors snapshot: (ids (n,), vectors (n, d), manifest).

    Raises:
        SnapshotError: files are missing, fail their checksums or their shapes disagree.
    """
    manifest = verify_snapshot(folder)
    try:
        ids = np.load(folder / "ids.npy")
        vectors = np.load(folder / "vectors.npy")
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"vectors snapshot {folder} is unreadable: {exc}", "rerun `moodboard embed`") from exc
    if vectors.ndim != 2 or len(ids) != len(vectors):
        raise SnapshotError(f"vectors snapshot {folder} has mismatched shapes", "rerun `moodboard embed`")
    return ids.astype(np.int64), vectors.astype(np.float32, copy=False), manifest


def current_vectors(snapshots_dir: Path) -> tuple[IntArray, FloatArray, dict[str, Any]]:
    """Load the live vectors snapshot.

    Raises:
        SnapshotError: none was written yet.
    """
    folder = current_snapshot(snapshots_dir, VECTORS_KIND)
    if folder is None:
        raise SnapshotError("no vectors snapshot yet", "run `moodboard embed` first")
    return read_vectors(folder)


def vectors_or_none(snapshots_dir: Path) -> tuple[IntArray, FloatArray] | None:
    """(ids, vectors) of the live vectors snapshot, or None when none was written yet."""
    try:
        ids, vectors, _ = current_vectors(snapshots_dir)
    except SnapshotError:
        return None
    return ids, vectors
