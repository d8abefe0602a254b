"""Session store in the catalog database (SQLite and PostgreSQL): round trip, version checks, images,
feedback as engagement events, deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.catalog.tables import AssistantSessionRow
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.query import Filters, QueryState
from moodboard.core.records import EVENT_WEIGHTS, Event, EventType
from moodboard.core.session import MAX_PROFILE, session_profile


@pytest.fixture
def sessions(any_store: CatalogStore) -> CatalogSessionStore:
    any_store.add_pins([NewPin(f"p{i}", f"pin {i}") for i in range(1, 6)])
    return CatalogSessionStore(any_store)


def _pins(store: CatalogStore) -> list[int]:
    return [p.id for batch in store.iter_pins() for p in batch]


def test_create_save_load_round_trip(sessions: CatalogSessionStore) -> None:
    user = sessions.store.ensure_user("ann").id
    s = sessions.create(user_id=user)
    s.state = QueryState(filters=Filters(price_max=30))
    s.history.append({"message": "under $30"})
    sessions.save(s)
    loaded = sessions.load(s.id)
    assert loaded.state == s.state and loaded.history == [{"message": "under $30"}]
    assert loaded.user_id == user and loaded.version == 1 == s.version
    with pytest.raises(NotFoundError):
        sessions.create(user_id=10**9)  # no such user


def test_unknown_and_malformed_ids(sessions: CatalogSessionStore) -> None:
    for bad in ("0" * 32, "../../etc/passwd", "F" * 32, ""):
        with pytest.raises(NotFoundError):
            sessions.load(bad)
    assert sessions.get_image("../x", "0" * 64) is None


def test_a_stale_copy_cannot_overwrite_a_newer_save(sessions: CatalogSessionStore) -> None:
    s = sessions.create()
    first, second = sessions.load(s.id), sessions.load(s.id)
    first.history.append({"message": "one"})
    sessions.save(first)
    second.history.append({"message": "two"})
    with pytest.raises(ConflictError) as err:
        sessions.save(second)  # loaded at version 0, the row is at 1 now
    assert err.value.hint
    assert [t["message"] for t in sessions.load(s.id).history] == ["one"]
    sessions.delete(s.id)
    with pytest.raises(NotFoundError):
        sessions.save(first)  # deleted meanwhile: not a conflict


def test_corrupt_state_is_a_clear_error(sessions: CatalogSessionStore) -> None:
    s = sessions.create()
    bad = QueryState().to_dict()
    bad["filters"] = {"price_max": -5}
    with sessions.store.sessions.begin() as db:
        db.execute(update(AssistantSessionRow).where(AssistantSessionRow.id == s.id).values(state=bad))
    with pytest.raises(InvalidInputError, match="state"):
        sessions.load(s.id)


def test_failed_write_keeps_the_old_row(sessions: CatalogSessionStore) -> None:
    s = sessions.create()
    before = sessions.load(s.id)
    s.history.append({"bad": object()})  # not JSON-serialisable: the write fails
    with pytest.raises(Exception, match="serializable"):
        sessions.save(s)
    after = sessions.load(s.id)
    assert after.history == before.history and after.version == before.version == 0


def test_images_by_digest(sessions: CatalogSessionStore) -> None:
    s = sessions.create()
    digest = sessions.put_image(s.id, b"abc")
    assert sessions.put_image(s.id, b"abc") == digest  # stored once
    assert sessions.get_image(s.id, digest) == b"abc" and sessions.get_image(s.id, "nope") is None
    other = sessions.create()
    assert sessions.get_image(other.id, digest) is None  # per session


def test_feedback_is_an_event_of_the_session(sessions: CatalogSessionStore) -> None:
    store = sessions.store
    heard: list[Event] = []
    store.subscribe(heard.extend)
    a, b, *_ = _pins(store)
    anon = sessions.create()
    event = sessions.record(anon.id, a, "save")
    assert event.id is not None and heard == [event] and event.context == {"session_id": anon.id}
    sessions.record(anon.id, b, "click")
    sessions.record(anon.id, b, "hide")
    profile = sessions.load(anon.id).profile
    # the one weight table (the taste graph's): a hide outweighs a click, so b is excluded
    assert profile == {
        a: EVENT_WEIGHTS[EventType.SAVE],
        b: EVENT_WEIGHTS[EventType.CLICK] + EVENT_WEIGHTS[EventType.HIDE],
    }
    assert profile[b] < 0
    guest = store.find_user(f"guest:{anon.id}")
    assert guest is not None and event.user_id == guest.id  # anonymous: a guest user per session
    # a shopper's session records the shopper's events; events elsewhere do not leak in
    ann = store.ensure_user("ann").id
    mine = sessions.create(user_id=ann)
    assert sessions.record(mine.id, a, "click").user_id == ann
    store.record_events([Event(ann, b, EventType.SAVE, datetime.now(UTC), {"session_id": anon.id})])
    store.record_events([Event(ann, b, EventType.SAVE, datetime.now(UTC))])
    assert sessions.load(mine.id).profile == {a: EVENT_WEIGHTS[EventType.CLICK]}
    assert sessions.load(anon.id).profile == profile  # ann's event naming anon's session is not anon's
    with pytest.raises(InvalidInputError):
        sessions.record(anon.id, a, "like")
    with pytest.raises(NotFoundError):
        sessions.record(anon.id, 10**9, "save")
    with pytest.raises(NotFoundError):
        sessions.record("0" * 32, a, "save")


def test_delete_forgets_state_images_and_anonymous_engagement(sessions: CatalogSessionStore) -> None:
    store = sessions.store
    a = _pins(store)[0]
    s = sessions.create()
    digest = sessions.put_image(s.id, b"photo")
    guest = sessions.record(s.id, a, "save").user_id
    sessions.delete(s.id)
    with pytest.raises(NotFoundError):
        sessions.load(s.id)
    assert sessions.get_image(s.id, digest) is None
    assert store.find_user(f"guest:{s.id}") is None and store.events_for_user(guest) == []
    with pytest.raises(NotFoundError):
        sessions.delete(s.id)


def test_profile_keeps_the_most_recent_pins() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Any] = [
        Event(1, pin, EventType.CLICK, t0 + timedelta(seconds=pin), id=pin) for pin in range(MAX_PROFILE + 5)
    ]
    profile = session_profile(reversed(events))  # any order: sorted by time
    assert len(profile) == MAX_PROFILE and min(profile) == 5 and list(profile)[-1] == MAX_PROFILE + 4
