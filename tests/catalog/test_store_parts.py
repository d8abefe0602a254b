"""The catalog store is one part per job (pins, users, boards, events) over one engine; the flat API stays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from moodboard.catalog.boards import BoardStore
from moodboard.catalog.events import EventStore
from moodboard.catalog.pins import PinStore
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.catalog.users import UserStore
from moodboard.core.errors import NotFoundError
from moodboard.core.records import Event, EventType


def test_the_flat_api_is_the_parts_methods(any_store: CatalogStore) -> None:
    """Each old method name is bound to its part; the parts share the store's one sessionmaker."""
    parts = {"pins": PinStore, "users": UserStore, "boards": BoardStore, "events": EventStore}
    for attr, kind in parts.items():
        part = getattr(any_store, attr)
        assert isinstance(part, kind) and part.sessions is any_store.sessions
    assert any_store.get_pins.__self__ is any_store.pins
    assert any_store.record_events.__self__ is any_store.events
    assert any_store.list_boards.__self__ is any_store.boards


def test_parts_work_together_through_one_database(any_store: CatalogStore) -> None:
    """A pin, a user, a board and an event written through different parts meet in one catalog."""
    any_store.pins.add_pins([NewPin("x1", "a pin")])
    pin = any_store.pins.get_pin_by_external_id("x1")
    user = any_store.users.ensure_user("shopper")
    board = any_store.boards.create_board(user.id, "ideas")
    any_store.boards.add_pin_to_board(board.id, pin.id)
    heard: list[Sequence[Event]] = []
    any_store.subscribe(heard.append)  # the flat name subscribes to the events part
    [stored] = any_store.events.record_events([Event(user.id, pin.id, EventType.SAVE, datetime.now(UTC))])
    assert stored.id is not None and [e.id for e in heard[0]] == [stored.id]
    assert any_store.list_boards(user.id)[0].pin_ids == (pin.id,)
    stats = any_store.stats()
    assert (stats["pins"], stats["users"], stats["boards"], stats["events"]) == (1, 1, 1, 1)


def test_a_board_for_an_unknown_user_is_refused_by_the_users_part(any_store: CatalogStore) -> None:
    """The boards part checks owners through the users part."""
    with pytest.raises(NotFoundError, match="user 424242"):
        any_store.boards.create_board(424242, "ideas")
