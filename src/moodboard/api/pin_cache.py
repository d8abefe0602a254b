"""The app's pin cache (`moodboard.catalog.pin_cache.PinCache`), held by the runtime."""

from __future__ import annotations

from moodboard.api.services import Services
from moodboard.catalog.pin_cache import PinCache


def pin_cache(services: Services) -> PinCache:
    """The runtime's pin cache over its catalog store (one per process)."""
    return services.runtime.pins
