"""Persistent conversation sessions: one JSON file per session under `<home>/sessions`, written atomically.

A session holds the `QueryState`, the turn history, the anonymous profile built from clicks and saves,
and (by content hash) the images the user uploaded. Writes go to a temporary file that is renamed over
the old one (`os.replace`), so a crash or a rejected turn never leaves a half-written or corrupted
state; a per-session lock serialises concurrent turns of the same session.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodboard.core.errors import InvalidInputError, NotFoundError
from moodboard.core.query import QueryState

SESSION_ID = re.compile(r"^[a-f0-9]{32}$")
MAX_HISTORY = 200
MAX_PROFILE = 100
PROFILE_WEIGHTS = {"click": 0.5, "save": 1.0, "purchase": 1.5, "hide": -1.0}


@dataclass
class Session:
    """A conversation: its state, history, anonymous profile and owner."""

    id: str
    state: QueryState = field(default_factory=QueryState)
    history: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[int, float] = field(default_factory=dict)
    user_id: int | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the session."""
        return {
            "id": self.id,
            "state": self.state.to_dict(),
            "history": self.history[-MAX_HISTORY:],
            "profile": {str(k): v for k, v in self.profile.items()},
            "user_id": self.user_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        """Rebuild a session from `to_dict` output, validating the state."""
        return cls(
            id=str(data["id"]),
            state=QueryState.from_dict(data.get("state", {})),
            history=list(data.get("history", [])),
            profile={int(k): float(v) for k, v in data.get("profile", {}).items()},
            user_id=data.get("user_id"),
            created_at=float(data.get("created_at", time.time())),
            updated_at=float(data.get("updated_at", time.time())),
        )

    def record(self, kind: str, pin_id: int) -> None:
        """Fold a click/save/hide into the anonymous profile (bounded, newest kept)."""
        if kind not in PROFILE_WEIGHTS:
            raise InvalidInputError(
                f"unknown feedback kind {kind!r}", f"use one of {', '.join(PROFILE_WEIGHTS)}", field="kind"
            )
        self.profile[pin_id] = self.profile.pop(pin_id, 0.0) + PROFILE_WEIGHTS[kind]
        while len(self.profile) > MAX_PROFILE:
            self.profile.pop(next(iter(self.profile)))


class SessionStore:
    """Sessions as JSON files in one folder; safe for one process with many threads."""

    def __init__(self, root: Path) -> None:
        """Use (and create) `root` to hold session files."""
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, session_id: str) -> threading.Lock:
        """The lock that serialises turns of one session."""
        with self._guard:
            return self._locks.setdefault(session_id, threading.Lock())

    def _path(self, session_id: str) -> Path:
        if not SESSION_ID.match(session_id):
            raise NotFoundError(f"session {session_id[:40]!r} not found", "create one with POST /assistant/sessions")
        return self.root / f"{session_id}.json"

    def create(self, user_id: int | None = None) -> Session:
        """Create and persist a new empty session."""
        session = Session(id=secrets.token_hex(16), user_id=user_id)
        self.save(session)
        return session

    def load(self, session_id: str) -> Session:
        """Load a session.

        Raises:
            NotFoundError: no session has this id.
        """
        path = self._path(session_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(f"session {session_id} not found", "create one with POST /assistant/sessions") from None
        return Session.from_dict(data)

    def save(self, session: Session) -> None:
        """Write a session atomically (temp file + rename)."""
        session.updated_at = time.time()
        path = self._path(session.id)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(session.to_dict(), fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, session_id: str) -> None:
        """Remove a session and its images.

        Raises:
            NotFoundError: no session has this id.
        """
        path = self._path(session_id)
        with self.lock(session_id):
            if not path.is_file():
                raise NotFoundError(f"session {session_id} not found", "nothing to delete")
            path.unlink()
            folder = self.root / session_id
            if folder.is_dir():
                for f in folder.iterdir():
                    f.unlink()
                folder.rmdir()

    def put_image(self, session_id: str, data: bytes) -> str:
        """Keep an uploaded image with the session; returns its content hash."""
        digest = hashlib.sha256(data).hexdigest()
        folder = self.root / session_id
        folder.mkdir(exist_ok=True)
        target = folder / f"{digest}.img"
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return digest

    def get_image(self, session_id: str, digest: str) -> bytes | None:
        """Bytes of an uploaded image, or None if it is gone."""
        if not re.match(r"^[a-f0-9]{64}$", digest):
            return None
        path = self._path(session_id).with_suffix("") / f"{digest}.img"
        return path.read_bytes() if path.is_file() else None
