"""What the assistant needs from a session store: load, save with a version check, photos, feedback.

The production store keeps sessions in the catalog database (`moodboard.catalog.sessions`), so any API
replica can serve any turn; `save` compares and swaps the row version and raises `ConflictError` when
another turn saved first, and the engine then re-runs its turn on the fresh state. Feedback is recorded
as an engagement event naming the session, and `Session.profile` is derived from those events.
"""

from __future__ import annotations

from typing import Protocol

from moodboard.core.records import Event
from moodboard.core.session import MAX_HISTORY, MAX_PROFILE, SESSION_ID, Session, session_profile

__all__ = ["MAX_HISTORY", "MAX_PROFILE", "SESSION_ID", "Session", "SessionStore", "session_profile"]


class SessionStore(Protocol):
    """Persistent conversations (see `moodboard.catalog.sessions.CatalogSessionStore`)."""

    def create(self, user_id: int | None = None) -> Session:
        """Create and persist a new empty session."""
        ...

    def load(self, session_id: str) -> Session:
        """Load a session with its profile (raises `NotFoundError` for an unknown id)."""
        ...

    def save(self, session: Session) -> None:
        """Store the session unless another save came first (then raise `ConflictError`)."""
        ...

    def delete(self, session_id: str) -> None:
        """Forget a session, its photos and its anonymous engagement."""
        ...

    def put_image(self, session_id: str, data: bytes) -> str:
        """Keep an uploaded photo with the session; returns its SHA-256 digest."""
        ...

    def get_image(self, session_id: str, digest: str) -> bytes | None:
        """A photo of the session by digest, or None."""
        ...

    def record(self, session_id: str, pin_id: int, kind: str) -> Event:
        """Record engagement with a pin in the session as an event; returns it with its id."""
        ...
