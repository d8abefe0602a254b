"""Pin cards for responses: one batched pin read per response through the runtime's pin cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moodboard.api.pin_cache import pin_cache
from moodboard.api.services import Services
from moodboard.core.errors import MoodboardError
from moodboard.core.records import Pin


def pins_by_id(services: Services, ids: Iterable[int]) -> dict[int, Pin]:
    """The pins of `ids` (deduplicated) in one batched read; unknown ids are left out."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    return {p.id: p for p in pin_cache(services).get_pins(wanted)} if wanted else {}


def display_category(services: Services) -> Callable[[Pin], str | None]:
    """A function giving a pin's display category (the live index's deepest known level, else the raw one)."""
    try:
        profile = services.runtime.search.current_index().profile
    except MoodboardError:
        return lambda pin: pin.category
    return lambda pin: profile.leaf("category", pin.category) or pin.category
