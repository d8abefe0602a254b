"""The narrow retrieval interface the assistant needs, and the records it passes.

A `Retriever` takes one `RetrievalQuery` (weighted positive and negative texts, pins and images, plus
`Filters`) and returns scored `Hit`s. Backends: `CatalogRetriever` (in-process, over the catalog, used
when no search index is built and in tests) and `SearchServiceRetriever` (the search service of
`moodboard.rank.search`). `apply_filters` is the one definition of what a filter means, so every
backend can post-filter what its index cannot express (exclusions, attributes, audience).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from moodboard.core.query import Filters
from moodboard.core.records import Pin


@dataclass(frozen=True, slots=True)
class RetrievalQuery:
    """One retrieval request built from a query state (and the session profile)."""

    texts: tuple[tuple[str, float], ...] = ()
    negative_texts: tuple[tuple[str, float], ...] = ()
    pins: tuple[tuple[int, float], ...] = ()
    negative_pins: tuple[tuple[int, float], ...] = ()
    images: tuple[tuple[bytes, float], ...] = ()
    profile_pins: tuple[tuple[int, float], ...] = ()
    filters: Filters = field(default_factory=Filters)
    exclude_ids: frozenset[int] = frozenset()
    k: int = 24

    def is_empty(self) -> bool:
        """True when nothing positive is asked (filters alone still browse the catalog)."""
        return not (self.texts or self.pins or self.images)


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved pin with its score, the sources that found it and per-term contributions."""

    pin: Pin
    score: float
    sources: tuple[str, ...] = ()
    contributions: dict[str, float] = field(default_factory=dict)


class Retriever(Protocol):
    """Anything that answers a `RetrievalQuery`."""

    name: str

    def retrieve(self, query: RetrievalQuery) -> list[Hit]:
        """Top `query.k` hits that pass `query.filters`, best first."""
        ...


def audience_values(filters: Filters, audience_map: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Attribute values that serve the filter's audience (empty when no audience is set)."""
    if filters.audience is None:
        return ()
    return audience_map.get(filters.audience, ())


def pin_passes(
    pin: Pin,
    filters: Filters,
    audience_field: str | None = None,
    audience_map: dict[str, tuple[str, ...]] | None = None,
) -> bool:
    """Whether one pin satisfies `filters` (the reference semantics every backend must match)."""
    if filters.price_min is not None or filters.price_max is not None:
        price = pin.product.price
        if price is None:
            return False
        p = float(price)
        if filters.price_min is not None and p < filters.price_min:
            return False
        if filters.price_max is not None and p > filters.price_max:
            return False
    colour = (pin.color or "").lower()
    if filters.colours and colour not in {c.lower() for c in filters.colours}:
        return False
    if colour and colour in {c.lower() for c in filters.exclude_colours}:
        return False
    cat = (pin.category or "").lower()
    if filters.categories and cat not in {c.lower() for c in filters.categories}:
        return False
    if cat and cat in {c.lower() for c in filters.exclude_categories}:
        return False
    for fld, allowed in filters.attributes.items():
        if str(pin.attributes.get(fld, "")).lower() not in {a.lower() for a in allowed}:
            return False
    for fld, refused in filters.exclude_attributes.items():
        if str(pin.attributes.get(fld, "")).lower() in {a.lower() for a in refused}:
            return False
    wanted = audience_values(filters, audience_map or {})
    return not (audience_field and wanted and str(pin.attributes.get(audience_field, "")) not in wanted)


def apply_filters(
    hits: Sequence[Hit],
    filters: Filters,
    audience_field: str | None = None,
    audience_map: dict[str, tuple[str, ...]] | None = None,
) -> list[Hit]:
    """Keep the hits that pass `filters`, in order."""
    return [h for h in hits if pin_passes(h.pin, filters, audience_field, audience_map)]


def query_key(query: RetrievalQuery) -> str:
    """A stable key of everything that decides a query's answer (images by content hash)."""
    parts = {
        "t": query.texts,
        "nt": query.negative_texts,
        "p": query.pins,
        "np": query.negative_pins,
        "i": [(hashlib.sha256(d).hexdigest(), w) for d, w in query.images],
        "pp": query.profile_pins,
        "f": query.filters.model_dump(mode="json"),
        "x": sorted(query.exclude_ids),
        "k": query.k,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=list).encode()).hexdigest()


class CachedRetriever:
    """Remembers recent answers of another retriever for `ttl_s` seconds.

    A goal cascade re-asks every section each turn, and a refinement usually changes one of them, so most
    section queries repeat verbatim; answers may lag catalog or index changes by at most `ttl_s`.
    """

    def __init__(self, inner: Retriever, size: int = 512, ttl_s: float = 30.0) -> None:
        """Wrap `inner`, keeping at most `size` answers."""
        self.inner = inner
        self.name = inner.name
        self.size = size
        self.ttl_s = ttl_s
        self._cache: OrderedDict[str, tuple[float, list[Hit]]] = OrderedDict()
        self._lock = threading.Lock()

    def retrieve(self, query: RetrievalQuery) -> list[Hit]:
        """The cached answer when fresh, else the inner retriever's (then cached)."""
        key = query_key(query)
        now = time.monotonic()
        with self._lock:
            found = self._cache.get(key)
            if found is not None and now - found[0] < self.ttl_s:
                self._cache.move_to_end(key)
                return list(found[1])
        hits = self.inner.retrieve(query)
        with self._lock:
            self._cache[key] = (now, hits)
            self._cache.move_to_end(key)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return list(hits)

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._cache.clear()

    def __getattr__(self, name: str) -> object:
        """Expose the inner retriever's extras (e.g. `neighbours`)."""
        return getattr(self.inner, name)
