"""Demo personas: a few shoppers with boards and engagement, so personalisation is visible in the demo."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Event, EventType, User


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo shopper and the categories they like."""

    external_id: str
    name: str
    preferred: tuple[str, ...]


PERSONAS = (
    Persona("ava", "Ava (heels, handbags, dresses)", ("Heels", "Handbags", "Dresses", "Tops", "Flats", "Lighting")),
    Persona("leo", "Leo (watches, sneakers, tees)", ("Watches", "Sports Shoes", "Tshirts", "Backpacks", "Chairs")),
    Persona("sam", "Sam (shirts, belts, formal shoes)", ("Shirts", "Formal Shoes", "Belts", "Ties", "Rugs")),
)


HEAD = 60  # engagement concentrates on a category's most popular pins, as in real catalogs


def _categories(store: CatalogStore) -> dict[str, list[int]]:
    """Pin ids by category, each list ordered by a stable pseudo-popularity (a hash of the external id)."""
    by_cat: dict[str, list[tuple[str, int]]] = {}
    for batch in store.iter_pins(batch_size=5000):
        for pin in batch:
            if pin.category:
                rank = hashlib.sha256(pin.external_id.encode()).hexdigest()
                by_cat.setdefault(pin.category, []).append((rank, pin.id))
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


def seed_personas(store: CatalogStore, seed: int = 7, pins_each: int = 14) -> list[User]:
    """Create the demo personas with a board and saves/clicks in their categories (idempotent).

    A background crowd is seeded first (see `seed_crowd`) so that walks have somewhere to go.

    Categories come from each persona's preferred list where the catalog has them, else from the catalog's
    most common categories, shared out so personas do not overlap.
    """
    by_cat = _categories(store)
    seed_crowd(store, by_cat)
    ranked = sorted(by_cat, key=lambda c: -len(by_cat[c]))
    taken: set[str] = set()
    users: list[User] = []
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i, persona in enumerate(PERSONAS):
        cats = [c for c in persona.preferred if c in by_cat and c not in taken]
        if not cats:
            cats = [c for c in ranked if c not in taken][i : i + 3] or ranked[:3]
        taken.update(cats)
        user = store.ensure_user(persona.external_id, persona.name)
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
