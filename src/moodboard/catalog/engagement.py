"""Users, boards and engagement events of the catalog store (mixed into `CatalogStore`).

`record_events` is the one way engagement enters: it stores the events, returns them with their ids, and
then hands those events to every subscriber (the taste graph's in-process overlay), which uses the ids
to apply each event once even when its store poll reads the same event again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from moodboard.catalog.tables import BoardPinRow, BoardRow, EventRow, PinRow, UserRow
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.records import Board, Event, EventType, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
EventListener = Callable[[Sequence[Event]], None]
_SESSION_ID = re.compile(r"^[a-f0-9]{32}$")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class EngagementMixin:
    """Users, boards and events; expects `self.sessions` (a sessionmaker)."""

    sessions: sessionmaker[Session]
    _listeners: list[EventListener]

    # ---- users ------------------------------------------------------------------------------------
    def ensure_user(self, external_id: str, name: str = "") -> User:
        """Return the user with `external_id`, creating it if needed."""
        if not external_id or len(external_id) > 256:
            raise InvalidInputError("user id must be 1-256 characters", "pass a short stable id", field="user")
        with self.sessions.begin() as s:
            row = s.scalar(select(UserRow).where(UserRow.external_id == external_id))
            if row is None:
                row = UserRow(external_id=external_id, name=name or external_id)
                s.add(row)
                s.flush()
            return User(id=row.id, external_id=row.external_id, name=row.name)

    def get_user(self, user_id: int) -> User:
        """One user by id.

        Raises:
            NotFoundError: no such user.
        """
        with self.sessions() as s:
            row = s.get(UserRow, user_id) if 0 < user_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"user {user_id} does not exist", "create the user by sending an event first")
        return User(id=row.id, external_id=row.external_id, name=row.name)

    def find_user(self, external_id: str) -> User | None:
        """The user with this external id, or None."""
        with self.sessions() as s:
            row = s.scalar(select(UserRow).where(UserRow.external_id == external_id))
        return None if row is None else User(id=row.id, external_id=row.external_id, name=row.name)

    def list_users(self) -> list[User]:
        """All users in id order."""
        with self.sessions() as s:
            rows = s.scalars(select(UserRow).order_by(UserRow.id)).all()
        return [User(id=r.id, external_id=r.external_id, name=r.name) for r in rows]

    # ---- boards -----------------------------------------------------------------------------------
    def create_board(self, user_id: int, name: str) -> Board:
        """Create a board for a user.

        Raises:
            ConflictError: the user already has a board with that name.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInputError("board name must be 1-200 characters", "pick a shorter name", field="name")
        self.get_user(user_id)
        try:
            with self.sessions.begin() as s:
                row = BoardRow(user_id=user_id, name=name)
                s.add(row)
                s.flush()
                return Board(id=row.id, user_id=user_id, name=name, created_at=row.created_at)
        except IntegrityError as exc:
            raise ConflictError(f"board {name!r} already exists", "choose another name or reuse it") from exc

    def get_board(self, board_id: int) -> Board:
        """One board with its pin ids (most recently added first)."""
        with self.sessions() as s:
            row = s.get(BoardRow, board_id) if 0 < board_id < 2**63 else None
            if row is None:
                raise NotFoundError(f"board {board_id} does not exist", "list boards with GET /boards")
            pins = s.scalars(
                select(BoardPinRow.pin_id)
                .where(BoardPinRow.board_id == board_id)
                .order_by(BoardPinRow.added_at.desc(), BoardPinRow.pin_id)
            ).all()
            return Board(id=row.id, user_id=row.user_id, name=row.name, pin_ids=tuple(pins), created_at=row.created_at)

    def list_boards(self, user_id: int) -> list[Board]:
        """All boards of a user, each with its pin ids."""
        with self.sessions() as s:
            ids = s.scalars(select(BoardRow.id).where(BoardRow.user_id == user_id).order_by(BoardRow.id)).all()
        return [self.get_board(i) for i in ids]

    def add_pin_to_board(self, board_id: int, pin_id: int) -> None:
        """Add a pin to a board (a no-op if it is already there)."""
        if not (0 < board_id < 2**63 and 0 < pin_id < 2**63):
            raise NotFoundError(f"board {board_id} or pin {pin_id} does not exist", "check the ids")
        with self.sessions.begin() as s:
            if s.get(BoardRow, board_id) is None:
                raise NotFoundError(f"board {board_id} does not exist", "create the board first")
            if s.get(PinRow, pin_id) is None:
                raise NotFoundError(f"pin {pin_id} does not exist", "check the pin id")
            if s.get(BoardPinRow, (board_id, pin_id)) is None:
                s.add(BoardPinRow(board_id=board_id, pin_id=pin_id, added_at=datetime.now(UTC)))

    def remove_pin_from_board(self, board_id: int, pin_id: int) -> None:
        """Remove a pin from a board (a no-op if absent)."""
        if not (0 < board_id < 2**63 and 0 < pin_id < 2**63):
            return
        with self.sessions.begin() as s:
            s.execute(delete(BoardPinRow).where(BoardPinRow.board_id == board_id, BoardPinRow.pin_id == pin_id))

    def iter_board_pins(self, batch_size: int = 50_000) -> Iterator[list[tuple[int, int]]]:
        """Yield (board_id, pin_id) pairs in batches."""
        last = (0, 0)
        while True:
            with self.sessions() as s:
                rows = s.execute(
                    select(BoardPinRow.board_id, BoardPinRow.pin_id)
                    .where(
                        (BoardPinRow.board_id > last[0])
                        | ((BoardPinRow.board_id == last[0]) & (BoardPinRow.pin_id > last[1]))
                    )
                    .order_by(BoardPinRow.board_id, BoardPinRow.pin_id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            batch = [(int(b), int(p)) for b, p in rows]
            last = batch[-1]
            yield batch

    def board_owner(self, board_id: int) -> int:
        """The user id owning a board."""
        return self.get_board(board_id).user_id

    # ---- events -----------------------------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """Call `listener` with every batch of events this store records from now on (ids set)."""
        self._listeners.append(listener)

    def record_events(self, events: Sequence[Event]) -> list[Event]:
        """Store engagement events in one transaction, then publish them; returns them with their ids.

        An event whose context names an assistant session (`context["session_id"]`) is indexed by it,
        so the session's profile can be read back (`session_events`).

        Raises:
            NotFoundError: an event names an unknown user or pin (nothing is stored then).
        """
        if not events:
            return []
        with self.sessions.begin() as s:
            users = {e.user_id for e in events}
            pins = {e.pin_id for e in events}
            known_users = set(s.scalars(select(UserRow.id).where(UserRow.id.in_(users))))
            known_pins = set(s.scalars(select(PinRow.id).where(PinRow.id.in_(pins))))
            if missing := users - known_users:
                raise NotFoundError(f"unknown user id(s) {sorted(missing)[:5]}", "create users before their events")
            if missing := pins - known_pins:
                raise NotFoundError(f"unknown pin id(s) {sorted(missing)[:5]}", "only send events for stored pins")
            rows = [
                EventRow(
                    user_id=e.user_id,
                    pin_id=e.pin_id,
                    type=EventType(e.type).value,
                    ts=_aware(e.ts),
                    context=e.context,
                    session_id=_session_of(e.context),
                )
                for e in events
            ]
            s.add_all(rows)
            s.flush()
            stored = [self._event(r) for r in rows]
        for listener in list(self._listeners):
            try:
                listener(stored)
            except Exception:  # the events are stored; a subscriber that polls the store catches up
                log.exception("an engagement subscriber failed; it will see these events on its next poll")
        return stored

    def add_events(self, events: Sequence[Event]) -> int:
        """Store (and publish) engagement events; returns how many were stored (see `record_events`)."""
        return len(self.record_events(events))

    def session_events(self, session_id: str, user_id: int, limit: int = 500) -> list[Event]:
        """The most recent events `user_id` recorded in an assistant session, newest first."""
        with self.sessions() as s:
            rows = s.scalars(
                select(EventRow)
                .where(EventRow.session_id == session_id, EventRow.user_id == user_id)
                .order_by(EventRow.ts.desc(), EventRow.id.desc())
                .limit(limit)
            ).all()
        return [self._event(r) for r in rows]

    def iter_events(self, since: datetime | None = None, batch_size: int = 50_000) -> Iterator[list[Event]]:
        """Yield all events (optionally after `since`) in (time, id) order, in batches."""
        last_id = 0
        while True:
            with self.sessions() as s:
                q = select(EventRow).where(EventRow.id > last_id)
                if since is not None:
                    q = q.where(EventRow.ts > _aware(since))
                rows = s.scalars(q.order_by(EventRow.id).limit(batch_size)).all()
            if not rows:
                return
            last_id = rows[-1].id
            batch = [self._event(r) for r in rows]
            batch.sort(key=lambda e: (e.ts, e.id or 0))
            yield batch

    def events_for_user(self, user_id: int, limit: int = 500) -> list[Event]:
        """A user's most recent events, newest first."""
        with self.sessions() as s:
            rows = s.scalars(
                select(EventRow)
                .where(EventRow.user_id == user_id)
                .order_by(EventRow.ts.desc(), EventRow.id.desc())
                .limit(limit)
            ).all()
        return [self._event(r) for r in rows]

    @staticmethod
    def _event(r: EventRow) -> Event:
        ctx: dict[str, Any] = dict(r.context or {})
        return Event(user_id=r.user_id, pin_id=r.pin_id, type=EventType(r.type), ts=_aware(r.ts), context=ctx, id=r.id)


def _session_of(context: dict[str, Any] | None) -> str | None:
    """The assistant session id named by an event's context, if it is a well-formed one."""
    sid = (context or {}).get("session_id")
    return sid if isinstance(sid, str) and _SESSION_ID.match(sid) else None
