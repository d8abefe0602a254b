"""Diversity of one page of results: a per-category cap (the one place results are diversified)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def category_cap(k: int, max_share: float) -> int:
    """The most results one category may take on a page of k (at least 1)."""
    return max(1, math.ceil(max_share * k))


def cap_per_category(categories: Sequence[int], k: int, max_share: float | None) -> list[int]:
    """Positions of the first k items (in the given order) with at most `category_cap` of one category.

    Items of unknown category (code < 0) are never capped. When the capped pass finds fewer than k items,
    the skipped ones fill the page in their order, so a one-category pool still gives a full page.
    """
    if max_share is None or max_share >= 1.0:
        return list(range(min(k, len(categories))))
    cap = category_cap(k, max_share)
    taken: list[int] = []
    skipped: list[int] = []
    count: dict[int, int] = {}
    for i, c in enumerate(categories):
        if len(taken) == k:
            break
        if c >= 0 and count.get(c, 0) >= cap:
            skipped.append(i)
            continue
        count[c] = count.get(c, 0) + 1
        taken.append(i)
    if len(taken) < k:
        taken += skipped[: k - len(taken)]
        taken.sort()
    return taken
