"""A short-lived per-process cache of catalog pins for result hydration.

Every search, feed and related-pins answer turns its top pin ids into `Pin` records. Through the store
that is one ORM query building three objects per row, which measured as most of a text search's time
(BENCHMARKS.md "HTTP serving speed": 26 of 43 ms under load). Pins change only when the catalog is
re-ingested or edited, so records are kept for `ttl_s` seconds: an edit shows in results within that
time, in every worker, without any cross-process invalidation. Both the size and the time to live are
settings (`serve.pin_cache_size`, `serve.pin_cache_ttl_s`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from moodboard.core.records import Pin

DEFAULT_TTL_S = 30.0


class PinCache:
    """LRU of pins by id with a time to live; misses are fetched in one batch from `fetch`."""

    def __init__(
        self,
        fetch: Callable[[Sequence[int]], list[Pin]],
        capacity: int = 100_000,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap the store's batch lookup (`CatalogStore.get_pins`)."""
        self._fetch = fetch
        self.capacity = capacity
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[int, tuple[float, Pin]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Pins held now (at most `capacity`)."""
        return len(self._items)

    def get_pins(self, ids: Sequence[int]) -> list[Pin]:
        """Pins for `ids` in the given order, unknown ids left out (the store's contract)."""
        now = self._clock()
        found: dict[int, Pin] = {}
        with self._lock:
            for i in ids:
                hit = self._items.get(i)
                if hit is not None and now - hit[0] < self.ttl_s:
                    found[i] = hit[1]
                    self._items.move_to_end(i)
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            fresh = self._fetch(missing)
            with self._lock:
                for pin in fresh:
                    found[pin.id] = pin
                    self._items[pin.id] = (now, pin)
                    self._items.move_to_end(pin.id)
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return [found[i] for i in ids if i in found]
