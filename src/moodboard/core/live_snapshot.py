"""The live value of a snapshot family: loaded from `CURRENT`, swapped atomically when the pointer moves,
and the last good value kept when a new version does not load (a corrupt or half-copied snapshot).

`snapshot_health` answers readiness probes about the same pointer without loading anything heavy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from moodboard.core.errors import MoodboardError, NotFoundError, SnapshotError
from moodboard.core.snapshot import MANIFEST, current_snapshot, verify_snapshot

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SnapshotStatus:
    """What a `LiveSnapshot` serves and why it refused the current snapshot, if it did."""

    kind: str
    serving: Path | None
    current: Path | None
    error: MoodboardError | None


class LiveSnapshot(Generic[T]):
    """Serves the value loaded from `<root>/<kind>/CURRENT`, swapping when the pointer moves.

    A new snapshot is loaded (by `load(path)`, which should verify it) before it becomes visible, so
    in-flight callers keep the old object. When it fails to load, the last good value keeps serving and
    the failure is logged once and kept for `status()`; with nothing loaded yet, the newest older version
    that loads is served instead. A pointer that does not move is not retried.
    """

    def __init__(
        self,
        root: Path,
        kind: str,
        load: Callable[[Path], T],
        *,
        check_every_s: float = 2.0,
        missing_hint: str = "build it first",
    ) -> None:
        """Watch `<root>/<kind>/CURRENT` at most every `check_every_s` seconds; `load` opens one version."""
        self.root = root
        self.kind = kind
        self.load = load
        self.check_every_s = check_every_s
        self.missing_hint = missing_hint
        self._lock = threading.Lock()
        self._value: T | None = None
        self._path: Path | None = None
        self._current: Path | None = None
        self._checked = 0.0
        self._pinned = False
        self._failed: Path | None = None
        self._error: MoodboardError | None = None

    @property
    def path(self) -> Path | None:
        """The folder of the version being served (None before the first load or after `set`)."""
        return self._path

    def peek(self) -> T | None:
        """The value being served, without checking the pointer or loading anything."""
        return self._value

    def status(self) -> SnapshotStatus:
        """The served version, the pointer's version when last checked, and the last load error."""
        return SnapshotStatus(self.kind, self._path, self._current, self._error)

    def set(self, value: T, path: Path | None = None) -> None:
        """Serve `value` from now on and stop watching the pointer (tests, or a value built in-process)."""
        with self._lock:
            self._value, self._path, self._pinned = value, path, True

    def get(self) -> T:
        """The live value: loaded on first use, reloaded when `CURRENT` names a new version.

        Raises:
            NotFoundError: no snapshot of this kind was built yet.
            SnapshotError: the current snapshot does not load and no earlier one does either.
        """
        value = self._value
        if value is not None and (self._pinned or time.monotonic() - self._checked < self.check_every_s):
            return value
        with self._lock:
            return self._refresh()

    def _refresh(self) -> T:
        value = self._value
        if value is not None and (self._pinned or time.monotonic() - self._checked < self.check_every_s):
            return value  # another thread refreshed while this one waited
        self._checked = time.monotonic()
        try:
            path = current_snapshot(self.root, self.kind)
        except SnapshotError as exc:
            return self._keep(None, exc)
        self._current = path
        if path is None:
            if value is not None:
                return value  # the pointer was removed: keep serving what is loaded
            raise NotFoundError(f"no {self.kind} snapshot has been built yet", self.missing_hint)
        if path == self._path and value is not None:
            return value
        if path == self._failed:
            return self._keep(path, self._error)
        try:
            loaded = self.load(path)
        except Exception as exc:  # any failure to load keeps the old value; the reason is logged and kept
            return self._keep(path, exc)
        self._value, self._path, self._failed, self._error = loaded, path, None, None
        return loaded

    def _keep(self, path: Path | None, exc: BaseException | None) -> T:
        err = exc if isinstance(exc, MoodboardError) else SnapshotError(f"{self.kind} snapshot {path}: {exc}")
        if path is not None and path != self._failed:
            self._failed, self._error = path, err
            log.error("refusing %s snapshot %s: %s; serving %s", self.kind, path, err, self._path or "nothing")
        elif path is None:
            self._error = err
        if self._value is not None:
            return self._value
        fallback = self._load_older(path)
        if fallback is None:
            raise err
        return fallback

    def _load_older(self, refused: Path | None) -> T | None:
        """Serve the newest older version that loads (start-up with a broken current snapshot)."""
        base = self.root / self.kind
        versions = sorted(
            (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()),
            key=lambda p: p.name,
            reverse=True,
        )
        for path in versions:
            if path == refused or (refused is not None and path.name > refused.name):
                continue
            try:
                value = self.load(path)
            except Exception as exc:
                log.error("refusing %s snapshot %s: %s", self.kind, path, exc)
                continue
            log.warning("serving older %s snapshot %s until the current one is rebuilt", self.kind, path)
            self._value, self._path = value, path
            return value
        return None


_VERIFIED: dict[Path, str | None] = {}
_VERIFIED_LOCK = threading.Lock()


def _checksum_failure(path: Path) -> str | None:
    """Why `path` fails its full checksums (None when it passes); computed once per version."""
    with _VERIFIED_LOCK:
        if path in _VERIFIED:
            return _VERIFIED[path]
    try:
        verify_snapshot(path)
        outcome = None
    except SnapshotError as exc:
        outcome = exc.message
    with _VERIFIED_LOCK:
        _VERIFIED[path] = outcome
    return outcome


def snapshot_health(root: Path, kind: str, build_hint: str) -> dict[str, Any]:
    """Readiness of the current `kind` snapshot: `{"state": "ok" | "missing" | "corrupt", ...}`.

    Sizes are checked on every call, the full checksums once per version (versions are immutable), so a
    readiness probe stays cheap. A problem carries `detail` and `hint` (what to run to fix it).
    """
    try:
        path = current_snapshot(root, kind)
    except SnapshotError as exc:
        return {"state": "corrupt", "detail": exc.message, "hint": build_hint}
    if path is None:
        return {"state": "missing", "detail": f"no {kind} snapshot has been built yet", "hint": build_hint}
    try:
        verify_snapshot(path, full=False)
        failure = _checksum_failure(path)
    except SnapshotError as exc:
        failure = exc.message
    if failure is not None:
        hint = f"{build_hint}; servers keep the last good {kind} snapshot until then"
        return {"state": "corrupt", "version": path.name, "detail": failure, "hint": hint}
    return {"state": "ok", "version": path.name}
