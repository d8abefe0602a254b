"""Adapter from the assistant's `RetrievalQuery` to the search service (`moodboard.rank.search`).

The search service takes one text, one image and one pin as positives, negative texts and pins, and
the index's filter fields (price, category, colour). The adapter joins the positive texts, sends the
newest image and the strongest pin (a profile pin when the query has none), over-fetches, then applies
the filters the index cannot express (exclusions, attributes, audience) with `pin_passes`, the same
semantics as every other backend. A query of filters alone searches for the names of the allowed values.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from moodboard.assistant.retrieval import Hit, RetrievalQuery, pin_passes
from moodboard.core.errors import ImageError
from moodboard.core.records import Pin

OVERFETCH = 4


class SearchServiceRetriever:
    """Runs assistant queries through the search service."""

    name = "search"

    def __init__(
        self,
        service: Any,
        pins: Callable[[list[int]], dict[int, Pin]],
        audience_field: str | None = None,
        audience_map: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Wrap a `SearchService` and a pin lookup (ids -> pins)."""
        self.service = service
        self.pins = pins
        self.audience_field = audience_field
        self.audience_map = audience_map or {}

    def request(self, query: RetrievalQuery) -> Any:
        """Build the search service's `SearchRequest` for `query`."""
        from moodboard.index.attributes import Filter
        from moodboard.rank.search import SearchRequest

        f = query.filters
        raw: dict[str, Any] = {"price_min": f.price_min, "price_max": f.price_max}
        if f.categories:
            raw["category"] = list(f.categories)
        if f.colours:
            raw["color"] = list(f.colours)
        texts = sorted(query.texts, key=lambda t: -t[1])
        browse = query.is_empty() and not query.profile_pins
        if browse:
            # filters alone (a section, "only shoes"): search for the names of what the filters allow
            names = [*f.categories, *f.colours, *(v for vals in f.attributes.values() for v in vals)]
            texts = [(" ".join(names), 1.0)]
        image = None
        image_weight = 1.0
        if query.images:
            from PIL import Image, UnidentifiedImageError

            data, image_weight = query.images[-1]
            try:
                image = Image.open(io.BytesIO(data)).convert("RGB")
            except (UnidentifiedImageError, OSError) as exc:
                raise ImageError(f"cannot decode the uploaded image: {exc}", "upload a JPEG or PNG") from exc
        pins = sorted(query.pins, key=lambda p: -p[1]) or sorted(query.profile_pins, key=lambda p: -p[1])
        return SearchRequest(
            text=" ".join(t for t, _ in texts)[:1000],
            text_weight=min(10.0, max((w for _, w in texts), default=1.0)),
            image=image,
            image_weight=min(10.0, image_weight),
            pin_id=pins[0][0] if pins else None,
            pin_weight=min(10.0, pins[0][1]) if pins else 1.0,
            negative_text=tuple(t for t, _ in query.negative_texts)[:20],
            negative_pin_ids=tuple(p for p, _ in query.negative_pins)[:50],
            filters=Filter.parse(raw),
            k=min(query.k * OVERFETCH, self.service.settings.max_k),
            # items passing a category filter are relevant by construction; the cutoff would only empty a
            # section whose goal words ("beach wedding tops") sit far from every catalog title
            cutoff=not (browse or f.categories),
        )

    def retrieve(self, query: RetrievalQuery) -> list[Hit]:
        """Search, post-filter and cut to `query.k`; an empty query returns nothing."""
        f = query.filters
        if query.is_empty() and not query.profile_pins and not (f.categories or f.colours or f.attributes):
            return []
        response = self.service.search(self.request(query))
        ids = [h.pin_id for h in response.hits if h.pin_id not in query.exclude_ids]
        lookup = {h.pin_id: h.pin for h in response.hits if h.pin is not None}
        missing = [i for i in ids if i not in lookup]
        if missing:
            lookup.update(self.pins(missing))
        out: list[Hit] = []
        for h in response.hits:
            pin = lookup.get(h.pin_id)
            if pin is None or h.pin_id in query.exclude_ids:
                continue
            if not pin_passes(pin, query.filters, self.audience_field, self.audience_map):
                continue
            out.append(Hit(pin=pin, score=float(h.score), sources=tuple(h.sources)))
            if len(out) >= query.k:
                break
        return out
