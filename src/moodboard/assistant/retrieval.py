"""The narrow retrieval interface the assistant needs, and the records it passes.

A `Retriever` takes one `RetrievalQuery` (weighted positive and negative texts, pins and images, plus
`Filters`) and returns scored `Hit`s. Backends: `CatalogRetriever` (in-process, over the catalog, used
when no search index is built and in tests) and `SearchServiceRetriever` (the search service of
`moodboard.rank.search`). `apply_filters` is the one definition of what a filter means, so every
backend can post-filter what its index cannot express (exclusions, attributes, audience).
"""

from __future__ import annotations

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
