"""Conversations with the real offline model (EfficientNet-Lite0 + MiniLM towers and an aligner trained by
`moodboard train align` on each catalog), where the answer depends on what the pins look like or mean:
goal cascades and photos. One home per catalog, built by the real CLI (tests/homes.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conversations.chat import Chat, photo_of

# building a home with the real model (train align + index) takes minutes on 2 cores: it counts towards
# the first test's time limit
pytestmark = [pytest.mark.realdata, pytest.mark.slow, pytest.mark.timeout(2400)]


def _share(c: Chat, pred: object, items: list[dict]) -> float:
    pins = c.pins(items)
    return sum(1 for p in pins if pred(p)) / max(1, len(pins))  # type: ignore[operator]


def test_flipkart_baby_gift_goal_stays_in_baby_care(flipkart_lite: TestClient) -> None:
    c = Chat(flipkart_lite)
    c.say("a gift for a new baby")
    assert 3 <= len(c.sections) <= 6, c.message
    in_baby = [s for s in c.sections if s["filters"]["categories"][0].startswith("baby care")]
    # better than chance: baby care is one of the catalog's 7 departments (1/7 of its products)
    assert len(in_baby) / len(c.sections) > 1 / 7, [s["name"] for s in c.sections]
    assert all(s["results"] for s in c.sections)


def test_flipkart_kitchen_goal_sections_are_kitchen_things(flipkart_lite: TestClient) -> None:
    c = Chat(flipkart_lite)
    c.say("help me plan a contemporary kitchen")
    cats = [s["filters"]["categories"][0] for s in c.sections]
    assert len(cats) >= 3 and sum("kitchen" in x for x in cats) >= 2, cats


def test_flipkart_photo_of_a_mug_finds_mugs(flipkart_lite: TestClient) -> None:
    c = Chat(flipkart_lite)
    store = flipkart_lite.app.state.services.store  # type: ignore[attr-defined]
    mug = next(p for b in store.iter_pins(batch_size=500) for p in b if "Mug" in p.title and p.image)
    c.say("", image=photo_of(flipkart_lite, mug))
    assert _share(c, lambda p: "coffee mugs" in c.levels(p), c.results[:10]) >= 0.5
    c.say("like this but only curtains")
    c.assert_all(lambda p: "curtains" in c.levels(p), "photo + scope")


def test_myntra_photo_of_a_handbag_finds_handbags(myntra_lite: TestClient) -> None:
    c = Chat(myntra_lite)
    store = myntra_lite.app.state.services.store  # type: ignore[attr-defined]
    bag = next(p for b in store.iter_pins(batch_size=500) for p in b if p.category == "Handbags" and p.image)
    c.say("", image=photo_of(myntra_lite, bag))
    assert _share(c, lambda p: "handbags" in c.levels(p), c.results[:10]) >= 0.5


def test_myntra_outfit_goal_is_a_cascade_of_clothes(myntra_lite: TestClient) -> None:
    c = Chat(myntra_lite)
    c.say("help me plan an outfit for a summer party")
    assert 3 <= len(c.sections) <= 6 and all(s["results"] for s in c.sections), c.message
    names = [s["name"] for s in c.sections]
    assert len(set(names)) == len(names)


def test_myntra_text_query_with_the_real_model(myntra_lite: TestClient) -> None:
    c = Chat(myntra_lite)
    c.say("black leather handbag")
    assert _share(c, lambda p: "handbags" in c.levels(p), c.results[:10]) >= 0.8
