"""Texts that describe a pin, used as the text side of (image, text) pairs when training the aligner.

The first variant is the title alone (what a shopper types); the others add the category, colour and
attributes, so the heads learn that "navy lamp" and a full product title point at the same image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def attribute_words(attributes: Mapping[str, Any], limit: int = 8) -> list[str]:
    """Return the short string attribute values of a pin in key order, without duplicates."""
    keys = sorted(attributes)
    words: list[str] = []
    for key in keys:
        value = attributes[key]
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = _clean(value)
            digits = sum(c.isdigit() for c in text)
            if digits > sum(c.isalpha() for c in text):
                continue  # ids, dates, measurements: not words an image shows
            if text and len(text) <= 40 and text.lower() not in {w.lower() for w in words}:
                words.append(text)
        if len(words) >= limit:
            break
    return words


def pair_texts(
    title: str,
    category: str | None = None,
    color: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> list[str]:
    """Return text variants of one item: title, full description, short "colour category" phrase.

    Example:
        >>> pair_texts("Acme Grey Desk Lamp", "Lamps", "Grey", {"room": "Study", "style": "Modern"})
        ['Acme Grey Desk Lamp', 'Acme Grey Desk Lamp. Grey Lamps. Study Modern', 'Grey Lamps']
    """
    title = _clean(title)
    head = " ".join(w for w in (_clean(color), _clean(category)) if w)
    attrs = [w for w in attribute_words(attributes or {}) if w.lower() not in head.lower().split()]
    full = ". ".join(p for p in (title, head, " ".join(attrs)) if p)
    variants = [title or full, full]
    if head:
        variants.append(head)
    return [v for v in variants if v] or [""]
