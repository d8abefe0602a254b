"""Goal planner and taxonomy: cascades from the catalog's own tree, plus the real STL tree when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodboard.assistant.planner import Planner
from moodboard.assistant.taxonomy import Taxonomy
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.errors import InvalidInputError


def test_fashion_goal_sections_resolve_to_catalog_categories(vocab: Vocabulary) -> None:
    planner = Planner(vocab, Taxonomy())
    _goal, sections, used = planner.detect("an outfit for a beach wedding")  # type: ignore[misc]
    names = [s.name for s in sections]
    assert names == ["tops", "bottoms", "footwear", "accessories"]
    cats = {s.name: set(s.filters.categories) for s in sections}
    assert cats["footwear"] <= {"Casual Shoes", "Sandals"} and cats["footwear"]
    assert cats["accessories"] == {"Sunglasses", "Watches"}
    assert {"beach", "wedding", "outfit"} <= used


def test_no_goal_for_plain_requests(vocab: Vocabulary) -> None:
    planner = Planner(vocab, Taxonomy())
    for text in ["red jeans", "more like the third one", "shoes under $50", "the lighting, but brass"]:
        assert planner.detect(text) is None


def test_catalog_only_fallback_for_unknown_home_goal(vocab: Vocabulary) -> None:
    # no taxonomy and a goal with no known scene: sections come from the catalog's own tree
    planner = Planner(vocab, None)
    assert planner.taxonomy.source == "catalog"
    found = planner.detect("help me decorate my hallway space")
    assert found is not None
    _goal, sections, _used = found
    assert len(sections) >= 3 and all(s.filters.categories or s.positives for s in sections)


def test_home_goal_with_a_written_taxonomy(tmp_path: Path, vocab: Vocabulary) -> None:
    (tmp_path / "stl-taxonomy").mkdir()
    (tmp_path / "stl-taxonomy" / "home-cat.json").write_text(
        json.dumps({"a": "Home & Garden|Lighting|Lamps", "b": "Home & Garden|Decor|Rugs", "c": "Furniture|Chairs"})
    )
    tax = Taxonomy.load(tmp_path)
    assert tax.source == "stl-taxonomy" and tax.find("lamps") is not None
    found = Planner(vocab, tax).detect("a cosy reading corner")
    assert found is not None and len(found[1]) >= 3
    assert {"seating", "lighting", "rugs"} <= {s.name for s in found[1]}


def test_taxonomy_errors(tmp_path: Path) -> None:
    assert not Taxonomy.load(None) and not Taxonomy.load(tmp_path)
    (tmp_path / "stl-taxonomy").mkdir()
    (tmp_path / "stl-taxonomy" / "home-cat.json").write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match="not a JSON object"):
        Taxonomy.load(tmp_path)


@pytest.mark.realdata
def test_real_stl_taxonomy(data_dir: Path, vocab: Vocabulary) -> None:
    tax = Taxonomy.load(data_dir)
    assert tax.source == "stl-taxonomy" and len(tax.domain("home")) >= 10 and len(tax.domain("fashion")) >= 10
    found = Planner(vocab, tax).detect("i want to redo my kitchen")
    assert found is not None
    names = {s.name for s in found[1]}
    assert len(names) >= 3 and {"faucets", "lighting"} <= names
