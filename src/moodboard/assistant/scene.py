"""A scene photo in a conversation: the assistant's reply also lists the photo's regions, each with its products.

`POST /search/look` answers a scene photo region by region; an assistant photo turn does the same
through the same `ShopTheLook`, under the conversation's filters, so a shopper who sends a room gets the
lamp's lamps and the rug's rugs beside the blended results. A photo of one product on a plain backdrop
(`embed.backdrop`: its border is one colour; tested before the proposer runs) and a photo in which the
proposer finds no object (only the whole image) are not scenes: the reply then has no regions, and its
results are the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moodboard.assistant.explain import Hit
from moodboard.core.query import Filters
from moodboard.embed.backdrop import plain_backdrop
from moodboard.rank.shop_the_look import ShopTheLook

ToItem = Callable[[Hit, int], Any]
"""Turns a hit and its 1-based position into the reply's result item (the engine's `_item`)."""


@dataclass
class SceneRegion:
    """One region of a scene photo in an assistant reply: box, label, objectness and its products."""

    id: int
    bbox: dict[str, int]
    label: str | None
    score: float
    source: str
    results: list[Any] = field(default_factory=list)


def scene_regions(
    look: ShopTheLook, image: Any, filters: Filters, k: int, to_item: ToItem, label: Callable[[str], str]
) -> tuple[list[SceneRegion], str | None]:
    """The regions of a decoded photo with up to `k` products each, and a note naming what was found;
    ([], None) when the photo shows no separable object (the whole image is its only region)."""
    if plain_backdrop(image):
        return [], None  # one product on a plain backdrop: no scene to split (and no proposer's ~0.5 s of CPU)
    answer = look.answer(image, k=k, filters=filters)
    if len(answer.regions) <= 1:
        return [], None
    regions = []
    for i, region in enumerate(answer.regions):
        left, top, right, bottom = region.box
        hits = [Hit(h.pin, h.score, tuple(h.sources)) for h in region.hits if h.pin is not None]
        regions.append(
            SceneRegion(
                id=i,
                bbox={"left": left, "top": top, "right": right, "bottom": bottom},
                label=label(region.label) if region.label else None,
                score=round(region.score, 4),
                source=region.source,
                results=[to_item(hit, n + 1) for n, hit in enumerate(hits)],
            )
        )
    objects = [r for r in regions if r.source != "whole"]
    names = list(dict.fromkeys(r.label for r in objects if r.label))[:4]
    what = f": {', '.join(names)}" if names else ""
    return regions, f"I found {len(objects)} region{'s' if len(objects) != 1 else ''} in your photo{what}."
