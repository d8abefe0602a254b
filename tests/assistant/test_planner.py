"""The data-driven goal planner: sections are the catalog's own categories where the goal's results fall."""

from __future__ import annotations

import pytest

from moodboard.assistant.planner import Planner, goal_phrase
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.query import Filters
from moodboard.index.bundle import SearchIndex
from moodboard.rank.search import SearchService


@pytest.mark.parametrize(
    ("text", "goal"),
    [
        ("help me plan a weekend trip", "a weekend trip"),
        ("I want to redo my kitchen", "redo my kitchen"),
        ("ideas for a gift for my dad", "ideas for a gift for my dad"),
        ("set up a home office", "set up a home office"),
        ("a bright reading corner idea with character", "a bright reading corner idea with character"),
        ("garden ideas", "garden ideas"),
    ],
)
def test_goal_phrasings_are_detected(text: str, goal: str) -> None:
    assert goal_phrase(text) == goal


@pytest.mark.parametrize("text", ["red jeans", "more like the third one", "shoes under $50", "not white"])
def test_no_goal_for_plain_requests(text: str) -> None:
    assert goal_phrase(text) is None


def test_sections_are_the_categories_the_goal_retrieves(
    service: SearchService, index: SearchIndex, vocab: Vocabulary
) -> None:
    planner = Planner(service, index.profile, vocab.label)
    sections = planner.plan("leather shoes sunglasses and a watch", Filters())
    cats = [s.filters.categories for s in sections]
    assert 3 <= len(sections) <= 6
    assert all(len(c) == 1 for c in cats) and len({c[0] for c in cats}) == len(cats)  # distinct categories
    named = {s.name for s in sections}
    assert {"Watches", "Sunglasses"} <= named
    assert all(s.positives and s.positives[0].value == "leather shoes sunglasses watch" for s in sections)  # the topic


def test_spread_rule_keeps_focused_queries_flat(service: SearchService, index: SearchIndex, vocab: Vocabulary) -> None:
    planner = Planner(service, index.profile, vocab.label)
    assert planner.plan("black jeans", Filters(), require_spread=True) == ()
    assert planner.plan("", Filters()) == ()
