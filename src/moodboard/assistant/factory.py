"""Builds an `Assistant` over the search service; called by the API and CLI composition roots.

There is one retrieval path: the assistant asks the same `SearchService` as `POST /search`. What it
knows of the catalog (profile, vocabulary) is read from the live index snapshot, which `moodboard
index` wrote, and is rebuilt when a new snapshot goes live. An LLM parser is used only when
`assistant.llm_base_url` is set.
"""

from __future__ import annotations

import threading
from typing import Any

from moodboard.assistant.engine import Assistant, TurnParser, Understanding
from moodboard.assistant.parser import Parser
from moodboard.assistant.planner import Planner
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.errors import DependencyError, MoodboardError, NotFoundError
from moodboard.core.settings import Settings
from moodboard.index.profile import CatalogProfile
from moodboard.rank.search import SearchService

TASTE_PINS = 10


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


class CatalogUnderstanding:
    """The parser, planner and profile of the live index snapshot, rebuilt when the snapshot changes."""

    def __init__(self, settings: Settings, search: SearchService) -> None:
        """Follow `search`'s live index; settings choose the optional LLM parser."""
        self.settings = settings
        self.search = search
        self._lock = threading.Lock()
        self._key: object = None
        self._value: Understanding | None = None

    def __call__(self) -> Understanding:
        """The understanding of the current index (built from its stored profile and vocabulary).

        Raises:
            DependencyError: no index has been built yet.
        """
        try:
            index = self.search.current_index()
        except NotFoundError as exc:
            raise DependencyError(
                "the assistant needs a search index and none has been built yet", "run `moodboard index`"
            ) from exc
        with self._lock:
            if self._value is None or self._key is not index:
                self._value = self._build(index.profile, index.vocabulary_data())
                self._key = index
            return self._value

    def _build(self, profile: CatalogProfile, data: dict[str, Any] | None) -> Understanding:
        vocab = Vocabulary.from_dict(data) if data else Vocabulary()
        builtin = Parser(vocab)
        parser: TurnParser = builtin
        cfg = self.settings.assistant
        if cfg.llm_base_url:
            from moodboard.assistant.llm import LLMParser

            parser = LLMParser(
                cfg.llm_base_url, cfg.llm_model, builtin, api_key=cfg.llm_api_key, timeout_s=cfg.llm_timeout_s
            )
        planner = Planner(self.search, profile, vocab.label)
        return Understanding(parser, planner, profile, vocab.is_known, vocab.label)


def build_assistant(
    settings: Settings,
    store: CatalogStore,
    search_service: SearchService,
    *,
    graph: Any | None = None,
) -> Assistant:
    """Compose the assistant for one catalog over the search service that `POST /search` uses.

    Args:
        settings: all settings (uses `assistant`, `api` limits, `home`).
        store: the catalog store (taste from boards).
        search_service: the one search service (its live index gives the catalog's profile and vocabulary).
        graph: the live taste graph (its `feed` gives a known user's interests), if any.
    """
    cfg = settings.assistant
    return Assistant(
        search_service,
        CatalogUnderstanding(settings, search_service),
        CatalogSessionStore(store),
        taste=GraphTaste(graph, BoardTaste(store)) if graph is not None else BoardTaste(store),
        image_check=_image_check(settings),
        max_message_chars=cfg.max_message_chars,
    )
