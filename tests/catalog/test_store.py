"""The catalog store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from moodboard.catalog.store import CatalogStore, NewImage, NewPin
from moodboard.core.errors import ConflictError, NotFoundError
from moodboard.core.records import Availability, Event, EventType


def _pin(i: int, **kw: object) -> NewPin:
    img = NewImage(f"{i:064x}", 10, 10, "PNG", 100, f"{i:016x}", f"ab/{i}.jpg")
    return NewPin(external_id=f"e{i}", title=f"pin {i}", image=img, **kw)  # type: ignore[arg-type]


def test_add_and_read_pins_round_trip(any_store: CatalogStore) -> None:
    n = any_store.add_pins(
        [
            _pin(1, price=Decimal("19.99"), currency="USD", availability=Availability.IN_STOCK),
            _pin(2, category="Shoes", color="Red", attributes={"gender": "Women"}),
        ]
    )
    assert n == 2
    assert any_store.count_pins() == 2
    p1 = any_store.get_pin_by_external_id("e1")
    assert p1.product.price == Decimal("19.99") and p1.product.currency == "USD"
    assert p1.product.availability is Availability.IN_STOCK
    p2 = any_store.get_pin_by_external_id("e2")
    assert (p2.category, p2.color, p2.attributes) == ("Shoes", "Red", {"gender": "Women"})
    assert p2.image is not None and p2.image.thumbnail_path == "ab/2.jpg"
    assert [p.external_id for p in any_store.get_pins([p2.id, p1.id, 999])] == ["e2", "e1"]


def test_add_pins_is_idempotent_per_external_id(any_store: CatalogStore) -> None:
    assert any_store.add_pins([_pin(1), _pin(2)]) == 2
    assert any_store.add_pins([_pin(2), _pin(3)]) == 1
    assert any_store.count_pins() == 3
    assert any_store.existing_external_ids(["e1", "e3", "zzz"]) == {"e1", "e3"}


def test_pins_sharing_one_image_store_it_once(any_store: CatalogStore) -> None:
    img = NewImage("f" * 64, 10, 10, "PNG", 100, "0" * 16, "ff/x.jpg")
    any_store.add_pins([NewPin("a", "A", image=img), NewPin("b", "B", image=img)])
    stats = any_store.stats()
    assert (stats["pins"], stats["images"]) == (2, 1)


def test_iter_pins_pages_through_everything_in_order(any_store: CatalogStore) -> None:
    any_store.add_pins([_pin(i) for i in range(25)])
    seen = [p.external_id for batch in any_store.iter_pins(batch_size=7) for p in batch]
    assert seen == [f"e{i}" for i in range(25)]


def test_unknown_pin_raises_not_found_with_hint(any_store: CatalogStore) -> None:
    with pytest.raises(NotFoundError) as err:
        any_store.get_pin(12345)
    assert "12345" in err.value.message and err.value.hint


def test_boards_users_and_events(any_store: CatalogStore) -> None:
    any_store.add_pins([_pin(1), _pin(2)])
    p1, p2 = (any_store.get_pin_by_external_id(e).id for e in ("e1", "e2"))
    alice = any_store.ensure_user("alice")
    assert any_store.ensure_user("alice").id == alice.id
    board = any_store.create_board(alice.id, "Kitchen")
    with pytest.raises(ConflictError):
        any_store.create_board(alice.id, "Kitchen")
    any_store.add_pin_to_board(board.id, p1)
    any_store.add_pin_to_board(board.id, p1)
    any_store.add_pin_to_board(board.id, p2)
    assert set(any_store.get_board(board.id).pin_ids) == {p1, p2}
    assert sorted(pair for batch in any_store.iter_board_pins() for pair in batch) == [(board.id, p1), (board.id, p2)]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    any_store.add_events(
        [
            Event(alice.id, p2, EventType.SAVE, t0 + timedelta(hours=1)),
            Event(alice.id, p1, EventType.CLICK, t0),
        ]
    )
    events = [e for batch in any_store.iter_events() for e in batch]
    assert [(e.pin_id, e.type) for e in events] == [(p1, EventType.CLICK), (p2, EventType.SAVE)]
    assert any_store.events_for_user(alice.id)[0].type is EventType.SAVE
    with pytest.raises(NotFoundError):
        any_store.add_events([Event(alice.id, 99999, EventType.VIEW, t0)])
    assert any_store.stats()["events"] == 2  # the failed batch stored nothing


def test_migrations_are_idempotent(db_url: str) -> None:
    CatalogStore.open(db_url).close()
    store = CatalogStore.open(db_url)
    assert store.count_pins() == 0
    store.close()
