"""Builds an `Assistant` from settings and the catalog store; called by the API and CLI composition roots.

The vocabulary is learned from every pin in the store. Retrieval goes through the search service when
one is given and its index snapshot exists, else through the in-process `CatalogRetriever`, behind a
short-lived answer cache (`CachedRetriever`). The real
taxonomy is read from the data dir at run time (settings.data_dir, then MOODBOARD_DATA_DIR); without it
the planner uses the catalog's own category tree. An LLM parser is used only when
`assistant.llm_base_url` is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from moodboard.assistant.catalog_retriever import CatalogRetriever
from moodboard.assistant.engine import Assistant, TurnParser
from moodboard.assistant.parser import Parser
from moodboard.assistant.planner import Planner
from moodboard.assistant.retrieval import CachedRetriever, Retriever
from moodboard.assistant.taxonomy import Taxonomy
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.errors import MoodboardError
from moodboard.core.records import Pin
from moodboard.core.settings import Settings
from moodboard.core.snapshot import current_snapshot

TASTE_PINS = 10


def data_dir(settings: Settings) -> Path | None:
    """Where the shared real datasets are, if anywhere."""
    for cand in (settings.data_dir, os.environ.get("MOODBOARD_DATA_DIR")):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


class BoardTaste:
    """A known user's taste as the pins on their boards, newest boards first (a simple taste profile)."""

    def __init__(self, store: CatalogStore) -> None:
        """Read boards from `store`."""
        self.store = store

    def profile_pins(self, user_id: int) -> list[tuple[int, float]]:
        """Up to `TASTE_PINS` saved pins, each with weight 1."""
        try:
            boards = self.store.list_boards(user_id)
        except MoodboardError:
            return []
        pins: list[int] = []
        for board in sorted(boards, key=lambda b: -b.id):
            pins += [p for p in board.pin_ids if p not in pins]
        return [(p, 1.0) for p in pins[:TASTE_PINS]]


class GraphTaste:
    """A known user's taste from the taste graph: PinnerSage interest medoids and recent engagement.

    Falls back to `BoardTaste` when the graph has no snapshot yet or does not know the user.
    """

    def __init__(self, graph: Any, fallback: BoardTaste) -> None:
        """`graph` answers `feed(user_id, k)` with `interest_pin_ids` and `query_pin_ids` (a LiveGraph)."""
        self.graph = graph
        self.fallback = fallback

    def profile_pins(self, user_id: int) -> list[tuple[int, float]]:
        """Interest medoids (weight 1) then recent engagement (weight 0.7), up to `TASTE_PINS`."""
        try:
            recs = self.graph.feed(user_id, 1, seed=0)
        except MoodboardError:
            return self.fallback.profile_pins(user_id)
        pins = [(int(p), 1.0) for p in recs.interest_pin_ids]
        pins += [(int(p), 0.7) for p in recs.query_pin_ids if int(p) not in {q for q, _ in pins}]
        return pins[:TASTE_PINS] or self.fallback.profile_pins(user_id)


def _image_check(settings: Settings) -> Any:
    from moodboard.catalog.images import ImageLimits, open_checked

    limits = ImageLimits(max_file_bytes=settings.api.max_upload_bytes, max_pixels=settings.api.max_upload_pixels)

    def check(data: bytes) -> None:
        open_checked(data, limits)

    return check


def build_assistant(
    settings: Settings,
    store: CatalogStore,
    *,
    retriever: Retriever | None = None,
    search_service: Any | None = None,
    graph: Any | None = None,
    pins: list[Pin] | None = None,
) -> Assistant:
    """Compose the assistant for one catalog.

    Args:
        settings: all settings (uses `assistant`, `api` limits, `home`, `data_dir`).
        store: the catalog store.
        retriever: use this retriever as is (tests, benchmarks).
        search_service: the search service, used when no retriever is given and its index exists.
        graph: the live taste graph (its `feed` gives a known user's interests), if any.
        pins: the catalog's pins, when already loaded.
    """
    if pins is None:
        pins = [p for batch in store.iter_pins(batch_size=2000) for p in batch]
    vocab = Vocabulary.from_pins(pins)
    planner = Planner(vocab, Taxonomy.load(data_dir(settings)))
    builtin = Parser(vocab, planner)
    if retriever is None:
        has_index = current_snapshot(settings.snapshots_dir, "index") is not None
        found = _search_retriever(search_service, store, vocab) if has_index else None
        retriever = CachedRetriever(found or CatalogRetriever(pins, vocab))
    parser: TurnParser = builtin
    cfg = settings.assistant
    if cfg.llm_base_url:
        from moodboard.assistant.llm import LLMParser

        parser = LLMParser(
            cfg.llm_base_url, cfg.llm_model, builtin, api_key=cfg.llm_api_key, timeout_s=cfg.llm_timeout_s
        )
    return Assistant(
        retriever,
        parser,
        CatalogSessionStore(store),
        taste=GraphTaste(graph, BoardTaste(store)) if graph is not None else BoardTaste(store),
        image_check=_image_check(settings),
        max_message_chars=cfg.max_message_chars,
    )


def _search_retriever(service: Any | None, store: CatalogStore, vocab: Vocabulary) -> Retriever | None:
    if service is None:
        return None
    from moodboard.assistant.search_retriever import SearchServiceRetriever

    def lookup(ids: list[int]) -> dict[int, Pin]:
        return {p.id: p for p in store.get_pins(ids)}

    return SearchServiceRetriever(service, lookup, vocab.audience_field, vocab.audience_values)
