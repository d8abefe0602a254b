"""Engagement events: the one way feedback enters the catalog, and the reads the graph and sessions use.

`record_events` stores the events, returns them with their ids, and then hands those events to every
subscriber (the taste graph's in-process overlay), which uses the ids to apply each event once even
when its store poll reads the same event again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from moodboard.catalog.tables import EventRow, PinRow, UserRow
from moodboard.core.errors import NotFoundError
from moodboard.core.records import Event, EventType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
EventListener = Callable[[Sequence[Event]], None]
_SESSION_ID = re.compile(r"^[a-f0-9]{32}$")


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class EventStore:
    """Store, publish and read engagement events."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Work through `sessions` (shared by every part of the catalog store); no subscribers yet."""
        self.sessions = sessions
        self._listeners: list[EventListener] = []

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
