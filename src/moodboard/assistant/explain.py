"""Explanations on each result ("modern · under ₹2,000 · like your photo") and follow-up chips.

Both are pure functions of the query state, the hits and the facets of the retrieved pool. Prices are
written in the catalog's own currency. Chips are messages the built-in parser understands, drawn from
the pool's facets (colours, categories, prices), so a click on a chip is just another turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from moodboard.assistant.vocabulary import singular, word_set, words
from moodboard.core.query import Filters, QueryState, TermKind
from moodboard.core.records import Pin

MAX_CHIPS = 6
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "JPY": "¥", "CNY": "¥", "KRW": "₩"}
"""Currency signs worth writing instead of the ISO code."""

Label = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved pin with its score and the sources (vector, lexical) that found it."""

    pin: Pin
    score: float
    sources: tuple[str, ...] = ()


def distinct_labels(label: Label, fld: str, values: Sequence[str]) -> list[str]:
    """How several values of a field read, each once ("Lanterns" under two parents and "Lantern" are
    one name to a shopper)."""
    out: dict[str, str] = {}
    for v in values:
        name = label(fld, v)
        out.setdefault(" ".join(singular(w) for w in words(name)) or name, name)
    return list(out.values())


def money(value: float, currency: str | None) -> str:
    """An amount in the catalog's currency: `$40`, `₹1,299`, `CHF 12.50`."""
    amount = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    sign = SYMBOLS.get((currency or "").upper())
    if sign:
        return f"{sign}{amount}"
    return f"{currency} {amount}" if currency else amount


def price_phrase(f: Filters, currency: str | None = None) -> str | None:
    """The price constraint in words, or None."""
    if f.price_min is not None and f.price_max is not None:
        return f"{money(f.price_min, currency)}–{money(f.price_max, currency)}"
    if f.price_max is not None:
        return f"under {money(f.price_max, currency)}"
    if f.price_min is not None:
        return f"over {money(f.price_min, currency)}"
    return None


def explain(
    hit: Hit,
    state: QueryState,
    filters: Filters,
    has_image: bool,
    currency: str | None,
    leaf: str | None,
    liked: bool = False,
) -> str:
    """One short line saying why this result is here."""
    reasons: list[str] = []
    title_words = word_set(hit.pin.title)
    for term in state.positives:
        if term.kind == TermKind.TEXT:
            for w in words(str(term.value)):
                if singular(w) in title_words and w not in reasons and len(reasons) < 2:
                    reasons.append(w)
    if filters.colours and hit.pin.color:
        reasons.append(hit.pin.color.lower())
    price = price_phrase(filters, currency)
    if price:
        reasons.append(price)
    if any(t.kind == TermKind.PIN for t in state.positives) and "vector" in hit.sources:
        reasons.append("like a pin you picked")
    if has_image and "vector" in hit.sources:
        reasons.append("like your photo")
    if liked:
        reasons.append("like a pin you saved")
    if not reasons:
        reasons.append(leaf.lower() if leaf else "close match")
    return " · ".join(reasons)


def chips(
    facets: Mapping[str, Mapping[str, int]],
    filters: Filters,
    label: Label,
    shown_prices: Sequence[float],
    currency: str | None,
    sections: Sequence[str] = (),
) -> list[str]:
    """Follow-up suggestions drawn from the pool's facets; each is a message the parser understands."""
    out: list[str] = []
    colours = [c for c in facets.get("color", {}) if c not in {x.lower() for x in filters.colours} and c != "na"]
    for colour in colours[:2]:
        out.append(f"in {label('color', colour).lower()}")
    if len(facets.get("color", {})) > 1:
        out.append(f"not {label('color', next(iter(facets['color']))).lower()}")
    current = tuple(filters.categories)
    cats = [c for c in facets.get("category", {}) if not any(f == c or f.startswith(c + " › ") for f in current)]
    if len(cats) > 1 and not sections:
        for cat in cats[:2]:
            out.append(f"only {label('category', cat).lower()}")
    prices = sorted(shown_prices)
    if len(prices) >= 4:
        cap = prices[len(prices) // 2]
        out.append(f"under {money(max(1, round(cap)), currency)}")
    if prices or cats:
        out.append("more like the first one")
    if sections and colours:
        out.append(f"the {sections[0]}, but in {label('color', colours[0]).lower()}")
    out.append("start over")
    return list(dict.fromkeys(out))[:MAX_CHIPS]
