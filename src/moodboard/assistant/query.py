"""The assistant's one retrieval mapping: conversation state (and a section) -> one search request.

Pure: `to_request(state, section, ...)` turns weighted positive and negative terms, structured filters,
the session's taste pins and the pins to keep out into the `moodboard.rank.search.SearchRequest` that
`POST /search` also answers. Every filter goes to the index (no post-filtering); texts are embedded
with their weights; the lexical ranking sees only words the catalog knows, so an unknown word can never
empty an answer; a query with a category or attribute filter skips the relevance cutoff (its pins are
relevant by construction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moodboard.core.query import Filters, QueryState, Section, TermKind
from moodboard.rank.search import QueryImage, SearchRequest

FLAT_K = 24
SECTION_K = 6
SECTION_STATE_WEIGHT = 0.5
TASTE_SHARE = 0.25
"""Most weight the shopper's taste pins get together, as a share of the weight of what the turn asks."""
"""A section keeps the conversation's own terms at half weight beside its own."""


@dataclass(frozen=True, slots=True)
class Context:
    """What one turn retrieves with besides the state: taste pins, pins never to show, known words."""

    profile_pins: tuple[tuple[int, float], ...] = ()
    exclude_ids: frozenset[int] = frozenset()
    is_known: Callable[[str], bool] = lambda _w: True
    max_k: int = 1000


def section_filters(state: QueryState, section: Section) -> Filters:
    """A section's filters with the conversation's price, colour and exclusions folded in."""
    g, s = state.filters, section.filters
    excl = {k: tuple(dict.fromkeys((*s.exclude_attributes.get(k, ()), *v))) for k, v in g.exclude_attributes.items()}
    return s.model_copy(
        update={
            "price_min": s.price_min if s.price_min is not None else g.price_min,
            "price_max": s.price_max if s.price_max is not None else g.price_max,
            "colours": s.colours or g.colours,
            "exclude_colours": tuple(dict.fromkeys((*s.exclude_colours, *g.exclude_colours))),
            "exclude_categories": tuple(dict.fromkeys((*s.exclude_categories, *g.exclude_categories))),
            "attributes": {**g.attributes, **s.attributes},
            "exclude_attributes": {**s.exclude_attributes, **excl},
        }
    )


def _known_text(texts: Iterable[tuple[str, float]], is_known: Callable[[str], bool]) -> str:
    words: list[str] = []
    for text, weight in texts:
        if weight < SECTION_STATE_WEIGHT:
            continue
        words += [w for w in text.split() if is_known(w) and w not in words]
    return " ".join(words)[:1000]


def browse_text(filters: Filters, label: Callable[[str, str], str]) -> str:
    """Words to search when a query has filters only ("only lamps"): the names of the values allowed."""
    names = [label(f, v) for f, vals in filters.includes().items() for v in vals]
    return " ".join(dict.fromkeys(names))[:1000]


def to_request(
    state: QueryState,
    section: Section | None,
    ctx: Context,
    images: Callable[[str], QueryImage | None],
    label: Callable[[str, str], str],
) -> SearchRequest | None:
    """The search request for the whole state (`section` None) or one section; None when nothing is asked."""
    pos, neg = list(state.positives), list(state.negatives)
    filters, k = state.filters, FLAT_K
    if section is not None:
        pos = [t.model_copy(update={"weight": t.weight * SECTION_STATE_WEIGHT}) for t in pos] + list(section.positives)
        neg += list(section.negatives)
        filters, k = section_filters(state, section), SECTION_K
    texts = [(str(t.value), t.weight) for t in pos if t.kind == TermKind.TEXT]
    photos = [(img, t.weight) for t in pos if t.kind == TermKind.IMAGE if (img := images(str(t.value))) is not None]
    pins = [(int(t.value), t.weight) for t in pos if t.kind == TermKind.PIN]
    # the shopper's taste leans every query a little (together at most TASTE_SHARE of what was asked), and
    # alone stands in for a query of filters only ("only lamps" ranks the lamps they would like first)
    taste = [p for p in ctx.profile_pins if p[0] not in {q for q, _ in pins}]
    asked = sum(w for _, w in texts) + sum(w for _, w in photos) + sum(w for _, w in pins)
    total = sum(w for _, w in taste)
    if asked > 0 and total > 0:
        scale = min(1.0, TASTE_SHARE * asked / total)
        taste = [(p, w * scale) for p, w in taste if w * scale > 0]
    pins += taste
    lexical = _known_text(texts, ctx.is_known)
    scoped = bool(filters.includes())
    if not (texts or photos or pins):
        if not scoped:
            return None
        texts = [(browse_text(filters, label), 1.0)]
        lexical = texts[0][0]
    return SearchRequest(
        texts=tuple((t[:1000], min(w, 10.0)) for t, w in texts[-20:] if t.strip()),
        images=tuple((im, min(w, 10.0)) for im, w in photos[-3:]),
        pins=tuple((p, min(w, 10.0)) for p, w in pins[-20:]),
        lexical_text=lexical,
        negative_text=tuple(str(t.value) for t in neg if t.kind == TermKind.TEXT)[:20],
        negative_pin_ids=tuple(int(t.value) for t in neg if t.kind == TermKind.PIN)[:50],
        exclude_ids=ctx.exclude_ids | {int(t.value) for t in neg if t.kind == TermKind.PIN},
        filters=filters,
        k=min(k, ctx.max_k),
        # pins passing a category filter are relevant by construction; a goal's words are no product name,
        # so its nearest pins are shown rather than cut off
        cutoff=not scoped and state.goal is None,
    )
