"""The assistant's understanding follows the live index: an index built after the server started is used
on the next turn, and a new index's vocabulary replaces the old one (review step 2: the assistant used to
decide once, at first use, and stayed on a fallback until restart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodboard.assistant.understanding import CatalogUnderstanding
from moodboard.core.errors import DependencyError, NotFoundError
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings, load_settings
from moodboard.embed.fake import FakeEmbedder
from moodboard.index.bundle import SearchIndex
from moodboard.rank.search import SearchService
from tests.homes import index_pins


def test_understanding_follows_the_live_index(pins: list[Pin], tmp_path: Path) -> None:
    live: dict[str, SearchIndex] = {}

    def current() -> SearchIndex:
        if "index" not in live:
            raise NotFoundError("no index snapshot has been built yet", "run `moodboard index`")
        return live["index"]

    enc = FakeEmbedder(dim=32)
    service = SearchService(current, lambda: enc, IndexSettings(), lambda ids: {})
    know = CatalogUnderstanding(load_settings(home=tmp_path / "home").assistant, service)
    with pytest.raises(DependencyError, match="moodboard index"):
        know()
    shoes_only = [p for p in pins if p.category in ("Sandals", "Casual Shoes")]
    live["index"] = index_pins(shoes_only, tmp_path / "one")
    first = know()
    assert first.parser.parse("sandals").scopes and not first.parser.parse("watches").scopes
    assert know() is first  # the same index: built once
    live["index"] = index_pins(pins, tmp_path / "two")  # a rebuilt index goes live
    second = know()
    assert second is not first and second.parser.parse("watches").scopes
