"""Assistant sessions in the catalog database (SQLite or PostgreSQL), shared by every API replica.

A save is a compare and swap on the row's `version`: it updates the row only if nobody saved it since it
was loaded, and raises `ConflictError` otherwise, so two workers serving one session can never lose or
interleave a turn (the assistant re-runs a turn that lost the race). Uploaded photos are kept per
session by their SHA-256 digest. Feedback is an engagement event (`CatalogStore.record_events`) whose
context names the session; the session's profile is read back from those events. An anonymous session
records its events for a guest user made on first use (`guest:<session id>`), deleted with the session.

Bounded: a session idle for `ttl_s` expires (it answers as not found and is deleted), each process deletes
expired sessions at most every `sweep_every_s` (on session creation), and a session keeps at most
`max_images` photos and `max_image_bytes` of them (the oldest go first; the newest is always kept).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from moodboard.catalog.store import CatalogStore
from moodboard.catalog.tables import AssistantSessionImageRow, AssistantSessionRow, UserRow
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.records import Event, EventType
from moodboard.core.session import MAX_HISTORY, SESSION_ID, Session, session_profile

_DIGEST = re.compile(r"^[a-f0-9]{64}$")
GUEST_PREFIX = "guest:"
SWEEP_BATCH = 500
log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _missing(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id[:40]!r} not found", "create one with POST /assistant/sessions")


def _ts(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class CatalogSessionStore:
    """Sessions as rows of the catalog database; safe for many threads and many processes."""

    def __init__(
        self,
        store: CatalogStore,
        *,
        ttl_s: float = 30 * 24 * 3600,
        sweep_every_s: float = 600.0,
        max_images: int = 20,
        max_image_bytes: int = 50 * 1024 * 1024,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Keep sessions in `store`'s database (its schema holds the session tables from revision 0002),
        within the bounds of `AssistantSettings` (`session_ttl_s`, `session_sweep_s`, `max_session_images`,
        `max_session_image_bytes`); `clock` gives the current UTC time."""
        self.store = store
        self.ttl = timedelta(seconds=ttl_s)
        self.sweep_every = timedelta(seconds=sweep_every_s)
        self.max_images = max_images
        self.max_image_bytes = max_image_bytes
        self._clock = clock
        self._swept: datetime | None = None
        self._sweep_lock = threading.Lock()

    def create(self, user_id: int | None = None) -> Session:
        """Create and persist a new empty session (optionally owned by a known user)."""
        now = self._clock()
        self._maybe_sweep(now)
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
        if self._expired(row.updated_at, self._clock()):
            self._delete_rows([(row.id, row.actor_id)])
            raise _missing(session_id)
        return row

    def _expired(self, updated_at: datetime, now: datetime) -> bool:
        return _ts(updated_at) < (now - self.ttl).timestamp()

    def _delete_rows(self, rows: list[tuple[str, int | None]]) -> None:
        """Delete sessions (their photos go by cascade) and the guest users of anonymous ones."""
        guests = [actor for _, actor in rows if actor is not None]
        with self.store.sessions.begin() as s:
            s.execute(delete(AssistantSessionRow).where(AssistantSessionRow.id.in_([sid for sid, _ in rows])))
            if guests:
                s.execute(delete(UserRow).where(UserRow.id.in_(guests), UserRow.external_id.startswith(GUEST_PREFIX)))

    def sweep_expired(self, now: datetime | None = None) -> int:
        """Delete every session idle for longer than the time to live; returns how many went."""
        cutoff = (now or self._clock()) - self.ttl
        removed = 0
        while True:
            with self.store.sessions() as s:
                rows = s.execute(
                    select(AssistantSessionRow.id, AssistantSessionRow.actor_id)
                    .where(AssistantSessionRow.updated_at < cutoff)
                    .limit(SWEEP_BATCH)
                ).all()
            if not rows:
                return removed
            self._delete_rows([(sid, actor) for sid, actor in rows])
            removed += len(rows)

    def _maybe_sweep(self, now: datetime) -> None:
        """Sweep expired sessions when this process has not for `sweep_every_s` (one thread at a time)."""
        if self._swept is not None and now - self._swept < self.sweep_every:
            return
        if not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._swept = now
            removed = self.sweep_expired(now)
            if removed:
                log.info("deleted %d expired assistant sessions", removed)
        except SQLAlchemyError as exc:  # a busy database must not fail the request; the next sweep retries
            log.warning("sweeping expired sessions failed: %s", exc)
        finally:
            self._sweep_lock.release()

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
        now = self._clock()
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
        """Keep an uploaded image with the session (dropping its oldest beyond the bounds); returns its hash."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            with self.store.sessions.begin() as s:
                if s.get(AssistantSessionImageRow, (session_id, digest)) is None:
                    s.add(
                        AssistantSessionImageRow(
                            session_id=session_id, digest=digest, data=data, created_at=self._clock()
                        )
                    )
        except IntegrityError:  # the same photo stored by a concurrent turn, or the session is gone
            self._row(session_id)
        self._trim_images(session_id, keep=digest)
        return digest

    def _trim_images(self, session_id: str, keep: str) -> None:
        """Drop the session's oldest photos beyond `max_images` / `max_image_bytes` (never `keep`)."""
        img = AssistantSessionImageRow
        with self.store.sessions.begin() as s:
            rows = s.execute(
                select(img.digest, func.length(img.data))
                .where(img.session_id == session_id)
                .order_by(img.created_at.desc(), img.digest)
            ).all()
            size, drop = 0, list[str]()
            newest_first = sorted(rows, key=lambda r: r[0] != keep)  # the new photo first, then the newest
            for kept, (digest, length) in enumerate(newest_first, 1):
                size += int(length or 0)
                if digest != keep and (drop or kept > self.max_images or size > self.max_image_bytes):
                    drop.append(digest)  # this one and every older one
            if drop:
                s.execute(delete(img).where(img.session_id == session_id, img.digest.in_(drop)))

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
        event = Event(actor, int(pin_id), etype, self._clock(), {"session_id": session_id})
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
