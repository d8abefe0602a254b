"""The catalog store: one database (SQLite or PostgreSQL) and a part per job, sharing its engine.

`PinStore` (pins, images, products), `UserStore`, `BoardStore` and `EventStore` (engagement) each own
their tables; `CatalogSessionStore` (`sessions.py`) keeps assistant sessions. `CatalogStore` builds the
parts over one engine and also offers their methods flat (`store.get_pins` is `store.pins.get_pins`),
the API every caller already uses; new code may take just the part it needs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from moodboard.catalog.boards import BoardStore
from moodboard.catalog.engine import make_engine, migrate
from moodboard.catalog.events import EventListener, EventStore
from moodboard.catalog.pins import MAX_ID, NewImage, NewPin, PinStore, valid_id
from moodboard.catalog.tables import BoardRow, EventRow, ImageRow, PinRow, ProductRow, UserRow
from moodboard.catalog.users import UserStore

__all__ = ["MAX_ID", "CatalogStore", "EventListener", "NewImage", "NewPin", "valid_id"]


class CatalogStore:
    """Read and write the catalog. Build it with `CatalogStore.open(url)`; it is thread-safe."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose schema is already migrated, with one part per job over it."""
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.pins = PinStore(self.sessions)
        self.users = UserStore(self.sessions)
        self.boards = BoardStore(self.sessions, self.users)
        self.events = EventStore(self.sessions)
        # the flat API, one name per part's method
        # pins
        self.get_pins = self.pins.get_pins
        self.get_pin = self.pins.get_pin
        self.get_pin_by_external_id = self.pins.get_pin_by_external_id
        self.iter_pins = self.pins.iter_pins
        self.list_pins = self.pins.list_pins
        self.count_pins = self.pins.count_pins
        self.existing_external_ids = self.pins.existing_external_ids
        self.image_phashes = self.pins.image_phashes
        self.add_pins = self.pins.add_pins
        # users
        self.ensure_user = self.users.ensure_user
        self.get_user = self.users.get_user
        self.find_user = self.users.find_user
        self.list_users = self.users.list_users
        # boards
        self.create_board = self.boards.create_board
        self.get_board = self.boards.get_board
        self.list_boards = self.boards.list_boards
        self.add_pin_to_board = self.boards.add_pin_to_board
        self.remove_pin_from_board = self.boards.remove_pin_from_board
        self.iter_board_pins = self.boards.iter_board_pins
        self.board_owner = self.boards.board_owner
        # events
        self.subscribe = self.events.subscribe
        self.record_events = self.events.record_events
        self.add_events = self.events.add_events
        self.session_events = self.events.session_events
        self.iter_events = self.events.iter_events
        self.events_for_user = self.events.events_for_user

    @classmethod
    def open(cls, url: str, *, echo: bool = False, pool_size: int = 5, run_migrations: bool = True) -> CatalogStore:
        """Connect to the database at `url` and migrate it to the newest schema."""
        engine = make_engine(url, echo=echo, pool_size=pool_size)
        if run_migrations:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        """Release all pooled connections."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        """The database kind: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    # ---- stats ------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts of every entity plus the top categories, for `moodboard catalog stats`."""
        with self.sessions() as s:

            def count(model: Any, *where: Any) -> int:
                return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            top = s.execute(
                select(PinRow.category, func.count())
                .group_by(PinRow.category)
                .order_by(func.count().desc(), PinRow.category)
                .limit(10)
            ).all()
            return {
                "pins": count(PinRow),
                "images": count(ImageRow),
                "near_duplicate_images": count(ImageRow, ImageRow.duplicate_of.is_not(None)),
                "pins_with_thumbnail": count(PinRow, PinRow.image_id.is_not(None)),
                "products": count(ProductRow),
                "priced": count(ProductRow, ProductRow.price.is_not(None)),
                "users": count(UserRow),
                "boards": count(BoardRow),
                "events": count(EventRow),
                "top_categories": {str(c): int(n) for c, n in top},
                "database": self.dialect,
            }
