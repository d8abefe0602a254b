"""The search service's request and response records: one query (weighted terms, filters, options) in,
ranked hits with their sources, facets over the pool and the cutoff out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from moodboard.core.query import Filters
from moodboard.core.records import Pin
from moodboard.index.attributes import FACET_FIELDS

Mode = Literal["hybrid", "vector", "lexical"]
MODES: tuple[str, ...] = ("hybrid", "vector", "lexical")


@dataclass(frozen=True)
class QueryImage:
    """A decoded query photo and the digest of its bytes (the key of its cached vector)."""

    image: Any
    digest: str


@dataclass(frozen=True)
class SearchRequest:
    """One query: weighted positive terms (at least one), negatives, filters and options.

    `text`, `image` and `pin_id` are the one-term form the HTTP API uses; `texts`, `images` and `pins`
    add more weighted terms (a conversation's state). Texts are embedded for the vector ranking; the
    lexical ranking searches `lexical_text` when given (an empty string turns it off), else `text`.
    `exclude_ids` never come back. Filters are pushed into the index.
    """

    text: str = ""
    text_weight: float = 1.0
    image: Any | None = None
    image_weight: float = 1.0
    pin_id: int | None = None
    pin_weight: float = 1.0
    vector: Sequence[float] | None = None
    texts: tuple[tuple[str, float], ...] = ()
    images: tuple[tuple[QueryImage, float], ...] = ()
    pins: tuple[tuple[int, float], ...] = ()
    lexical_text: str | None = None
    negative_text: tuple[str, ...] = ()
    negative_pin_ids: tuple[int, ...] = ()
    negative_weight: float = 0.5
    exclude_ids: frozenset[int] = frozenset()
    filters: Filters = field(default_factory=Filters)
    k: int = 20
    mode: Mode = "hybrid"
    vector_weight: float | None = None
    lexical_weight: float | None = None
    cutoff: bool = True
    facets: tuple[str, ...] = FACET_FIELDS


@dataclass(frozen=True)
class SearchHit:
    """One result: fused score, per-source rank and raw score, and the pin when a lookup was given."""

    pin_id: int
    score: float
    sources: dict[str, dict[str, float]]
    pin: Pin | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as the CLI/API print it."""
        return {
            "pin_id": self.pin_id,
            "external_id": self.pin.external_id if self.pin else None,
            "title": self.pin.title if self.pin else None,
            "score": round(self.score, 6),
            "sources": self.sources,
        }


@dataclass(frozen=True)
class SearchResponse:
    """Results best first, facets over the retrieved pool, and how the cutoff acted."""

    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    cutoff: float | None
    below_cutoff: int
    model_id: str

    def to_json(self) -> dict[str, Any]:
        """`{"results": [...], "facets": {...}, "cutoff": ..., "below_cutoff": n}`."""
        return {
            "results": [h.to_json() for h in self.hits],
            "facets": self.facets,
            "cutoff": self.cutoff,
            "below_cutoff": self.below_cutoff,
            "model_id": self.model_id,
        }


PinLookup = Callable[[list[int]], Mapping[int, Pin]]
