"""Demo personas: a few shoppers with boards and engagement, so personalisation is visible in the demo."""

from __future__ import annotations

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


def _categories(store: CatalogStore) -> dict[str, list[int]]:
    by_cat: dict[str, list[int]] = {}
    for batch in store.iter_pins(batch_size=5000):
        for pin in batch:
            if pin.category:
                by_cat.setdefault(pin.category, []).append(pin.id)
    return by_cat


def seed_personas(store: CatalogStore, seed: int = 7, pins_each: int = 14) -> list[User]:
    """Create the demo personas with a board and saves/clicks in their categories (idempotent).

    Categories come from each persona's preferred list where the catalog has them, else from the catalog's
    most common categories, shared out so personas do not overlap.
    """
    by_cat = _categories(store)
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
        pool = sorted({p for c in cats for p in by_cat[c]})
        chosen = rng.sample(pool, min(pins_each, len(pool)))
        board = store.create_board(user.id, f"{persona.name.split(' ')[0]}'s favourites")
        events = []
        for j, pin_id in enumerate(chosen):
            store.add_pin_to_board(board.id, pin_id)
            ts = now - timedelta(hours=len(chosen) - j)
            events.append(Event(user.id, pin_id, EventType.SAVE, ts))
            events.append(Event(user.id, pin_id, EventType.CLICK, ts - timedelta(minutes=2)))
        store.add_events(events)
    return users
