"""An assistant conversation as it is stored: state, turn history, owner, row version, anonymous profile.

The profile is not stored with the session: it is derived from the engagement events recorded in the
session (`session_profile`), weighed with the one event weight table (`core.records.EVENT_WEIGHTS`)
that the taste graph uses too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moodboard.core.query import QueryState
from moodboard.core.records import EVENT_WEIGHTS, Event, EventType

SESSION_ID = re.compile(r"^[a-f0-9]{32}$")
MAX_HISTORY = 200
MAX_PROFILE = 100


@dataclass
class Session:
    """A conversation: its state, history, anonymous profile, owner and row version.

    `version` counts the saves of the stored row; a save succeeds only when the row still has the
    version this copy was loaded with (compare and swap), so concurrent turns never overwrite each other.
    """

    id: str
    state: QueryState = field(default_factory=QueryState)
    history: list[dict[str, Any]] = field(default_factory=list)
    profile: dict[int, float] = field(default_factory=dict)
    user_id: int | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    version: int = 0

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
            "version": self.version,
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
            version=int(data.get("version", 0)),
        )


def session_profile(events: Iterable[Event], limit: int = MAX_PROFILE) -> dict[int, float]:
    """Sum each pin's event weights (`EVENT_WEIGHTS`); keeps the `limit` most recently engaged pins.

    Args:
        events: the session's events in any order (they are sorted by time, then id).
        limit: how many pins the profile keeps (the oldest go first).

    Returns:
        pin id -> summed weight, oldest engagement first; a negative weight means "hidden".
    """
    profile: dict[int, float] = {}
    for e in sorted(events, key=lambda e: (e.ts, e.id or 0)):
        profile[e.pin_id] = profile.pop(e.pin_id, 0.0) + EVENT_WEIGHTS[EventType(e.type)]
        while len(profile) > limit:
            profile.pop(next(iter(profile)))
    return profile
