"""Immutable, versioned snapshots (vectors, indexes, graphs, models) with a manifest and atomic swap.

Layout: `<root>/<kind>/<version>/` holds the files plus `manifest.json`; `<root>/<kind>/CURRENT` is a
one-line file naming the live version, replaced atomically with `os.replace`. A snapshot is built in a
`.tmp-*` folder and renamed into place only when complete, so a crash never leaves a half snapshot live.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moodboard.core.errors import SnapshotError

MANIFEST = "manifest.json"
CURRENT = "CURRENT"


def _new_version() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{time.time_ns() % 1_000_000:06d}"


def write_snapshot(
    root: Path,
    kind: str,
    build: Callable[[Path], dict[str, Any] | None],
    manifest: dict[str, Any],
    *,
    make_current: bool = True,
) -> Path:
    """Build a snapshot of `kind` under `root` with `build(tmp_dir)`, then publish it atomically.

    Args:
        root: snapshots folder (usually `settings.snapshots_dir`).
        kind: snapshot family, e.g. "vectors", "index", "graph", "aligner".
        build: writes the snapshot's files into the folder it is given; may return extra manifest fields.
        manifest: inputs and settings that produced the snapshot.
        make_current: also point `CURRENT` at the new version.

    Returns:
        The final snapshot folder.
    """
    base = root / kind
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
    try:
        extra = build(tmp) or {}
        version = _new_version()
        full = {"kind": kind, "version": version, "created_at": time.time(), **manifest, **extra}
        (tmp / MANIFEST).write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        final = base / version
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if make_current:
        set_current(root, kind, version)
    return final


def set_current(root: Path, kind: str, version: str) -> None:
    """Atomically point `<root>/<kind>/CURRENT` at `version`."""
    base = root / kind
    if not (base / version / MANIFEST).is_file():
        raise SnapshotError(f"snapshot {kind}/{version} does not exist", "list versions with `ls` first")
    tmp = base / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(version + "\n")
    os.replace(tmp, base / CURRENT)


def current_snapshot(root: Path, kind: str) -> Path | None:
    """Return the live snapshot folder of `kind`, or None when none was built yet."""
    pointer = root / kind / CURRENT
    if not pointer.is_file():
        return None
    path = root / kind / pointer.read_text().strip()
    if not (path / MANIFEST).is_file():
        raise SnapshotError(
            f"snapshot pointer {pointer} names a missing version",
            f"rebuild the {kind} snapshot or fix {pointer}",
        )
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a snapshot's manifest."""
    try:
        data: dict[str, Any] = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read manifest of {path}: {exc}", "rebuild the snapshot") from exc
    return data
