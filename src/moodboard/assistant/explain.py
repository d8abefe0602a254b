"""Explanations on each result ("modern · under $200 · like a pin you saved") and follow-up chips.

Both are pure functions of the query state, the hits and the session profile. Chips are messages the
built-in parser understands, drawn from the facets of the results just shown (their colours,
categories and prices), so a click on a chip is just another turn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from moodboard.assistant.retrieval import Hit
from moodboard.assistant.vocabulary import singular, words
from moodboard.core.query import Filters, QueryState, TermKind

SIMILAR_MIN = 0.25
"""Smallest similarity to a referenced or saved pin that is worth saying out loud."""

MAX_CHIPS = 6


def _money(v: float) -> str:
    return f"${v:,.0f}" if v == int(v) else f"${v:,.2f}"


def price_phrase(f: Filters) -> str | None:
    """The price constraint in words, or None."""
    if f.price_min is not None and f.price_max is not None:
        return f"{_money(f.price_min)}–{_money(f.price_max)}"
    if f.price_max is not None:
        return f"under {_money(f.price_max)}"
    if f.price_min is not None:
        return f"over {_money(f.price_min)}"
    return None


def explain(hit: Hit, state: QueryState, filters: Filters, has_image: bool = False) -> str:
    """One short line saying why this result is here."""
    reasons: list[str] = []
    title_words = {singular(w) for w in words(hit.pin.title)}
    for term in state.positives:
        if term.kind == TermKind.TEXT:
            for w in words(str(term.value)):
                if singular(w) in title_words and w not in reasons and len(reasons) < 2:
                    reasons.append(w)
    if filters.colours and hit.pin.color:
        reasons.append(hit.pin.color.lower())
    price = price_phrase(filters)
    if price:
        reasons.append(price)
    if filters.audience:
        reasons.append(f"for {filters.audience}")
    pin_sims = [v for k, v in hit.contributions.items() if k.startswith("pin:")]
    if pin_sims and max(pin_sims) >= SIMILAR_MIN:
        reasons.append("like a pin you picked")
    profile_sims = [v for k, v in hit.contributions.items() if k.startswith("profile:")]
    if profile_sims and max(profile_sims) >= SIMILAR_MIN:
        reasons.append("like a pin you saved")
    if has_image and "dense" in hit.sources:
        reasons.append("like your photo")
    if not reasons:
        reasons.append(hit.pin.category.lower() if hit.pin.category else "popular")
    return " · ".join(reasons)


def facets(hits: Sequence[Hit]) -> dict[str, dict[str, int]]:
    """Counts of colour, category and price band over the hits actually retrieved."""
    colours = Counter(h.pin.color for h in hits if h.pin.color)
    cats = Counter(h.pin.category for h in hits if h.pin.category)
    bands: Counter[str] = Counter()
    for h in hits:
        if h.pin.product.price is not None:
            p = float(h.pin.product.price)
            edge = next((e for e in (25, 50, 100, 250, 500, 1000) if p <= e), None)
            bands[f"under ${edge}" if edge else "over $1,000"] += 1
    return {"color": dict(colours.most_common()), "category": dict(cats.most_common()), "price": dict(bands)}


def chips(hits: Sequence[Hit], filters: Filters, sections: Sequence[str] = ()) -> list[str]:
    """Follow-up suggestions drawn from the facets of `hits`; each is a message the parser understands."""
    out: list[str] = []
    f = facets(hits)
    taken = {c.lower() for c in filters.colours}
    for colour, _n in list(f["color"].items())[:4]:
        if colour.lower() not in taken and colour.lower() != "na" and len([c for c in out if c.startswith("in ")]) < 2:
            out.append(f"in {colour.lower()}")
    top_colour = next(iter(f["color"]), None)
    if top_colour and len(f["color"]) > 1:
        out.append(f"not {top_colour.lower()}")
    if len(f["category"]) > 1:
        for cat, _n in list(f["category"].items())[:2]:
            out.append(f"only {cat.lower()}")
    prices = sorted(float(h.pin.product.price) for h in hits if h.pin.product.price is not None)
    if len(prices) >= 4:
        cap = prices[len(prices) // 2]
        out.append(f"under ${max(1, round(cap))}")
    if hits:
        out.append("more like the first one")
    if sections:
        out.append(f"the {sections[0]}, but in {(top_colour or 'black').lower()}")
    out.append("start over")
    return list(dict.fromkeys(out))[:MAX_CHIPS]
