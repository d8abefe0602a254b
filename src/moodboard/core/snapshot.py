"""Immutable, versioned snapshots (vectors, indexes, graphs, models) with a checksummed manifest and atomic swap.

Layout: `<root>/<kind>/<version>/` holds the files plus `manifest.json`; `<root>/<kind>/CURRENT` is a
one-line file naming the live version, replaced atomically with `os.replace`. A snapshot is built in a
`.tmp-<pid>@<host>-*` folder and renamed into place only when complete, so a crash never leaves a half snapshot
live; the next writer sweeps the folders of writers that died (kill -9 runs no cleanup).

The manifest lists every file with its size and SHA-256 (`files`). `verify_snapshot` checks them before a
loader trusts the bytes, so a damaged or hand-copied half snapshot is refused instead of served;
`LiveSnapshot` then keeps serving the last good value.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from moodboard.core.errors import CorruptSnapshotError, SnapshotError

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
TMP_PREFIX = ".tmp-"
_CHUNK = 1 << 20
_FOREIGN_TMP_AGE_S = 86_400.0
_POINTER_TMP_AGE_S = 60.0

log = logging.getLogger(__name__)
T = TypeVar("T")


def _new_version() -> str:
    """`YYYYmmddTHHMMSS-uuuuuu` (UTC, microseconds): names sort in the order they were written.

    Regression: the suffix was `time_ns() % 10**6` (the sub-millisecond digits), so two versions written in
    the same second sorted at random and "the newest older version" could not be found by name.
    """
    ns = time.time_ns()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 1_000_000_000)) + f"-{(ns // 1000) % 1_000_000:06d}"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex (about 1 GB/s with SHA-NI; see BENCHMARKS.md, snapshot checksums)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def checksum_files(folder: Path) -> dict[str, dict[str, Any]]:
    """`{relative path: {"bytes", "sha256"}}` of every file under `folder` except the manifest."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            out[path.relative_to(folder).as_posix()] = {"bytes": path.stat().st_size, "sha256": file_digest(path)}
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def _tmp_prefix() -> str:
    """Temp folder prefix naming its writer, `.tmp-<pid>@<host>-` (mkdtemp suffixes hold no `-`)."""
    return f"{TMP_PREFIX}{os.getpid()}@{_host()}-"


def _is_stale(entry: Path, now: float) -> bool:
    """Whether a temp entry's writer is gone: a dead pid on this host, else old age."""
    age = now - entry.stat().st_mtime
    pointer = entry.name.startswith(f".{CURRENT}.")
    if pointer:  # `.CURRENT.<pid>@<host>`: lives for microseconds while `set_current` runs
        writer, sep, host = entry.name[len(CURRENT) + 2 :].partition("@")
    else:  # `.tmp-<pid>@<host>-<random>`
        writer, sep, rest = entry.name[len(TMP_PREFIX) :].partition("@")
        host = rest.rsplit("-", 1)[0]
    if sep and writer.isdigit() and host == _host():
        return int(writer) != os.getpid() and not _pid_alive(int(writer))
    # another host's writer (shared volume) or an older version's name
    return age > (_POINTER_TMP_AGE_S if pointer else _FOREIGN_TMP_AGE_S)


def sweep_temp(root: Path, kind: str) -> list[Path]:
    """Delete the temp folders and pointer files that dead writers left under `<root>/<kind>`.

    A temp folder names its writer (pid and host); it is removed when that process no longer runs on
    this host. Folders of other hosts, or from older versions without a writer in the name, are removed
    after a day. Returns what was removed.
    """
    base = root / kind
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    now = time.time()
    for entry in base.iterdir():
        if not (entry.name.startswith(TMP_PREFIX) or entry.name.startswith(f".{CURRENT}.")):
            continue
        try:
            if not _is_stale(entry, now):
                continue
        except OSError:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        log.info("swept %d temp entries of dead writers under %s", len(removed), base)
    return removed


def write_snapshot(
    root: Path,
    kind: str,
    build: Callable[[Path], dict[str, Any] | None],
    manifest: dict[str, Any],
    *,
    make_current: bool = True,
) -> Path:
    """Build a snapshot of `kind` under `root` with `build(tmp_dir)`, checksum it, then publish it atomically.

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
    sweep_temp(root, kind)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(), dir=base))
    try:
        extra = build(tmp) or {}
        version = _new_version()
        full = {"kind": kind, "version": version, "created_at": time.time(), **manifest, **extra}
        full["files"] = checksum_files(tmp)
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
    tmp = base / f".{CURRENT}.{os.getpid()}@{_host()}"
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
    if not isinstance(data, dict):
        raise SnapshotError(f"the manifest of {path} is not a JSON object", "rebuild the snapshot")
    return data


def verify_snapshot(path: Path, *, full: bool = True) -> dict[str, Any]:
    """Check a snapshot's files against its manifest (sizes; with `full`, SHA-256 too); returns the manifest.

    Snapshots written before checksums existed have no `files` list: they load, with a warning.

    Raises:
        CorruptSnapshotError: a listed file is missing, has another size or another checksum.
        SnapshotError: the manifest is unreadable.
    """
    manifest = read_manifest(path)
    files = manifest.get("files")
    kind = manifest.get("kind", path.parent.name)
    hint = f"rebuild it (e.g. rerun the job that writes `{kind}` snapshots); the previous snapshot keeps serving"
    if files is None:
        log.warning("snapshot %s has no checksums (written by an older version); rebuild it to verify", path)
        return manifest
    if not isinstance(files, dict):
        raise CorruptSnapshotError(f"snapshot {path} has a malformed file list", hint)
    for rel, meta in files.items():
        file = path / rel
        try:
            size = file.stat().st_size
        except OSError:
            raise CorruptSnapshotError(f"snapshot {path} is missing {rel}", hint) from None
        if size != meta.get("bytes"):
            raise CorruptSnapshotError(f"snapshot {path}: {rel} has {size} bytes, expected {meta.get('bytes')}", hint)
        if full and file_digest(file) != meta.get("sha256"):
            raise CorruptSnapshotError(f"snapshot {path}: {rel} does not match its checksum", hint)
    return manifest
