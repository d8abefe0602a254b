"""Assistant sessions in the catalog database (SQLite or PostgreSQL), shared by every API replica.

A save is a compare and swap on the row's `version`: it updates the row only if nobody saved it since it
was loaded, and raises `ConflictError` otherwise, so two workers serving one session can never lose or
interleave a turn (the assistant re-runs a turn that lost the race). Uploaded photos are kept per
session by their SHA-256 digest. Feedback is an engagement event (`CatalogStore.record_events`) whose
context names the session; the session's profile is read back from those events. An anonymous session
records its events for a guest user made on first use (`guest:<session id>`), deleted with the session.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from moodboard.catalog.store import CatalogStore
from moodboard.catalog.tables import AssistantSessionImageRow, AssistantSessionRow, UserRow
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.records import Event, EventType
from moodboard.core.session import MAX_HISTORY, SESSION_ID, Session, session_profile

_DIGEST = re.compile(r"^[a-f0-9]{64}$")
GUEST_PREFIX = "guest:"


def _missing(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id[:40]!r} not found", "create one with POST /assistant/sessions")


def _ts(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class CatalogSessionStore:
    """Sessions as rows of the catalog database; safe for many threads and many processes."""

    def __init__(self, store: CatalogStore) -> None:
        """Keep sessions in `store`'s database (its schema holds the session tables from revision 0002)."""
        self.store = store

    def create(self, user_id: int | None = None) -> Session:
        """Create and persist a new empty session (optionally owned by a known user)."""
        now = datetime.now(UTC)
        session = Session(id=secrets.token_hex(16), user_id=user_id, created_at=now.timestamp())
        session.updated_at = session.created_at
        with self.store.sessions.begin() as s:
            if user_id is not None and s.get(UserRow, user_id) is None:
                raise NotFoundError(f"user {user_id} does not exist", "create the user by sending an event first")
            s.add(
                AssistantSessionRow(
                    id=session.id, user_id=user_id, version=0, state=session.state.to_dict(), history=[],
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
        return session

    def _row(self, session_id: str) -> AssistantSessionRow:
        if not SESSION_ID.match(session_id):
            raise _missing(session_id)
        with self.store.sessions() as s:
            row = s.get(AssistantSessionRow, session_id)
        if row is None:
            raise _missing(session_id)
        return row

    def load(self, session_id: str) -> Session:
        """Load a session with its profile.

        Raises:
            NotFoundError: no session has this id.
            InvalidInputError: the stored state does not validate.
        """
        row = self._row(session_id)
        session = Session.from_dict(
            {
                "id": row.id, "state": row.state, "history": row.history, "user_id": row.user_id,
                "created_at": _ts(row.created_at), "updated_at": _ts(row.updated_at), "version": row.version,
            }
        )  # fmt: skip
        actor = row.user_id if row.user_id is not None else row.actor_id
        if actor is not None:
            session.profile = session_profile(self.store.session_events(session_id, actor))
        return session

    def save(self, session: Session) -> None:
        """Store the session if its row still has the version it was loaded with; bumps `session.version`.

        Raises:
            ConflictError: another turn saved this session since it was loaded (load it and try again).
            NotFoundError: the session was deleted meanwhile.
        """
        now = datetime.now(UTC)
        with self.store.sessions.begin() as s:
            result = s.execute(
                update(AssistantSessionRow)
                .where(AssistantSessionRow.id == session.id, AssistantSessionRow.version == session.version)
                .values(
                    state=session.state.to_dict(), history=session.history[-MAX_HISTORY:],
                    version=session.version + 1, updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if result.rowcount != 1:  # type: ignore[attr-defined]
                if s.get(AssistantSessionRow, session.id) is None:
                    raise _missing(session.id)
                raise ConflictError(
                    f"session {session.id} changed while this turn ran (it was at version {session.version})",
                    "send the message again",
                )
        session.version += 1
        session.updated_at = now.timestamp()

    def delete(self, session_id: str) -> None:
        """Remove a session, its images and (for an anonymous session) its guest user's events.

        Raises:
            NotFoundError: no session has this id.
        """
        if not SESSION_ID.match(session_id):
            raise _missing(session_id)
        with self.store.sessions.begin() as s:
            row = s.get(AssistantSessionRow, session_id)
            if row is None:
                raise _missing(session_id)
            guest = row.actor_id
            s.execute(delete(AssistantSessionRow).where(AssistantSessionRow.id == session_id))
            if guest is not None:
                s.execute(delete(UserRow).where(UserRow.id == guest))

    def put_image(self, session_id: str, data: bytes) -> str:
        """Keep an uploaded image with the session; returns its content hash."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            with self.store.sessions.begin() as s:
                if s.get(AssistantSessionImageRow, (session_id, digest)) is None:
                    s.add(
                        AssistantSessionImageRow(
                            session_id=session_id, digest=digest, data=data, created_at=datetime.now(UTC)
                        )
                    )
        except IntegrityError:  # the same photo stored by a concurrent turn, or the session is gone
            self._row(session_id)
        return digest

    def get_image(self, session_id: str, digest: str) -> bytes | None:
        """Bytes of an uploaded image, or None if it is gone."""
        if not (_DIGEST.match(digest) and SESSION_ID.match(session_id)):
            return None
        with self.store.sessions() as s:
            row = s.get(AssistantSessionImageRow, (session_id, digest))
        return None if row is None else bytes(row.data)

    def record(self, session_id: str, pin_id: int, kind: str) -> Event:
        """Record engagement with a pin shown in the session as an event; returns it with its id.

        The event is the owner's (or, in an anonymous session, the session's guest user's), and its
        context names the session, so it reaches both the session's profile and the taste graph.

        Raises:
            InvalidInputError: `kind` is not an event type.
            NotFoundError: no such session or pin.
        """
        try:
            etype = EventType(kind)
        except ValueError:
            raise InvalidInputError(
                f"unknown feedback kind {kind!r}", f"use one of {', '.join(t.value for t in EventType)}", field="kind"
            ) from None
        row = self._row(session_id)
        actor = row.user_id if row.user_id is not None else self._guest(row)
        event = Event(actor, int(pin_id), etype, datetime.now(UTC), {"session_id": session_id})
        return self.store.record_events([event])[0]

    def _guest(self, row: AssistantSessionRow) -> int:
        """The guest user of an anonymous session, made (once, even under races) on first use."""
        if row.actor_id is not None:
            return row.actor_id
        external = GUEST_PREFIX + row.id
        try:
            guest = self.store.ensure_user(external, "guest")
        except IntegrityError:  # a concurrent first feedback made it
            found = self.store.find_user(external)
            assert found is not None
            guest = found
        with self.store.sessions.begin() as s:
            s.execute(
                update(AssistantSessionRow)
                .where(AssistantSessionRow.id == row.id, AssistantSessionRow.actor_id.is_(None))
                .values(actor_id=guest.id)
                .execution_options(synchronize_session=False)
            )
        return guest.id
