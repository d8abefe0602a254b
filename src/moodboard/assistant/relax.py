"""Relaxing constraints that leave nothing: the softest first, each with the sentence that says so.

`relaxations(filters, what, ...)` lists ever looser versions of a filter: first the attribute filters
(materials, patterns ...), then colours, then the price range, last the category scope. What the
shopper refused ("not white", "no rugs") is never relaxed. The assistant
tries them in order and keeps the first that finds pins, so "green plant pots" in a catalog without
green ones answers "No green plant pots; here are plant pots in other colours".
"""

from __future__ import annotations

from collections.abc import Callable

from moodboard.assistant.explain import distinct_labels, price_phrase
from moodboard.core.query import Filters


def _names(label: Callable[[str, str], str], fld: str, values: tuple[str, ...]) -> str:
    return " or ".join(distinct_labels(label, fld, values))


def relaxations(
    filters: Filters, what: str, label: Callable[[str, str], str], currency: str | None
) -> list[tuple[Filters, str]]:
    """Looser filters, softest constraint dropped first, each with a note for the reply."""
    out: list[tuple[Filters, str]] = []
    current = filters
    if current.attributes:
        named = ", ".join(_names(label, k, v) for k, v in current.attributes.items())
        current = current.model_copy(update={"attributes": {}})
        out.append((current, f"No {what} with {named}; here are other {what}."))
    if current.colours:
        shade = _names(label, "color", current.colours).lower()
        current = current.model_copy(update={"colours": ()})
        out.append((current, f"No {shade} {what}; here are {what} in other colours."))
    price = price_phrase(current, currency)
    if price:
        current = current.model_copy(update={"price_min": None, "price_max": None})
        out.append((current, f"No {what} {price}; here are {what} at other prices."))
    if current.categories:
        kinds = _names(label, "category", current.categories)
        current = current.model_copy(update={"categories": ()})
        out.append((current, f"Nothing matches {kinds} with everything you asked; here are the closest matches."))
    return out
