"""Demo personas: a few shoppers with boards and engagement, so personalisation is visible in the demo."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Event, EventType, User


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo shopper; the categories they like are chosen from whatever catalog is loaded."""

    external_id: str
    name: str


PERSONAS = (Persona("ava", "Ava"), Persona("leo", "Leo"), Persona("sam", "Sam"))
CATEGORIES_EACH = 2


HEAD = 60  # engagement concentrates on a category's most popular pins, as in real catalogs


def _categories(store: CatalogStore, group_of: Callable[[str], str | None]) -> dict[str, list[int]]:
    """Pin ids by category group, each list ordered by a stable pseudo-popularity (a hash of the external id)."""
    by_cat: dict[str, list[tuple[str, int]]] = {}
    for batch in store.iter_pins(batch_size=5000):
        for pin in batch:
            group = group_of(pin.category) if pin.category else None
            if group:
                rank = hashlib.sha256(pin.external_id.encode()).hexdigest()
                by_cat.setdefault(group, []).append((rank, pin.id))
    return {c: [pid for _, pid in sorted(v)] for c, v in by_cat.items()}


def seed_crowd(store: CatalogStore, by_cat: dict[str, list[int]], seed: int = 11, users: int = 80) -> int:
    """Background shoppers, each with one board of pins from one or two popular categories.

    Their boards give the taste graph co-engagement to walk through (Pixie walks pin -> board -> pin), so
    the personas' feeds come from walks and not from the popular fallback. Idempotent; returns boards made.
    """
    ranked = sorted(by_cat, key=lambda c: -len(by_cat[c]))[:24]
    if not ranked:
        return 0
    rng = random.Random(seed)
    now = datetime.now(UTC)
    made = 0
    for i in range(users):
        user = store.ensure_user(f"crowd-{i:02d}", f"Shopper {i:02d}")
        if store.list_boards(user.id):
            continue
        cats = rng.sample(ranked, min(len(ranked), rng.choice((1, 1, 2))))
        pool = sorted({p for c in cats for p in by_cat[c][:HEAD]})
        chosen = rng.sample(pool, min(len(pool), rng.randint(10, 20)))
        board = store.create_board(user.id, f"{' & '.join(cats)}")
        events = []
        for j, pin_id in enumerate(chosen):
            store.add_pin_to_board(board.id, pin_id)
            events.append(Event(user.id, pin_id, EventType.SAVE, now - timedelta(days=2, minutes=j)))
        store.add_events(events)
        made += 1
    return made


def seed_personas(
    store: CatalogStore,
    seed: int = 7,
    pins_each: int = 14,
    group_of: Callable[[str], str | None] | None = None,
) -> list[User]:
    """Create the demo personas with a board and saves/clicks in their categories (idempotent).

    A background crowd is seeded first (see `seed_crowd`) so that walks have somewhere to go. Each
    persona likes two of the catalog's common category groups (`group_of` maps a pin's category to its
    group, e.g. a path's second level; by default the category itself), shared out so personas do not
    overlap; the persona's name says which.
    """
    by_cat = _categories(store, group_of or (lambda c: c))
    seed_crowd(store, by_cat)
    ranked = sorted(by_cat, key=lambda c: (-len(by_cat[c]), c))
    users: list[User] = []
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i, persona in enumerate(PERSONAS):
        # spread the personas over the catalog: every third common group, two groups each
        cats = ranked[i :: len(PERSONAS)][:CATEGORIES_EACH] or ranked[:CATEGORIES_EACH]
        label = ", ".join(c.rsplit(" › ", 1)[-1].lower() for c in cats)
        user = store.ensure_user(persona.external_id, f"{persona.name} ({label})" if label else persona.name)
        users.append(user)
        if store.list_boards(user.id):
            continue  # already seeded
        pool = sorted({p for c in cats for p in by_cat[c][:HEAD]})
        chosen = rng.sample(pool, min(pins_each, max(1, len(pool) // 2)))  # leave half unsaved to recommend
        board = store.create_board(user.id, f"{persona.name.split(' ')[0]}'s favourites")
        events = []
        for j, pin_id in enumerate(chosen):
            store.add_pin_to_board(board.id, pin_id)
            ts = now - timedelta(hours=len(chosen) - j)
            events.append(Event(user.id, pin_id, EventType.SAVE, ts))
            events.append(Event(user.id, pin_id, EventType.CLICK, ts - timedelta(minutes=2)))
        store.add_events(events)
    return users
