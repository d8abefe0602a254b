"""What the assistant knows of the catalog: the parser, planner and profile of the live index snapshot.

There is one retrieval path: the assistant asks the same `SearchService` as `POST /search`. What it
knows of the catalog (profile, vocabulary) is read from the live index snapshot, which `moodboard
index` wrote, and is rebuilt when a new snapshot goes live. An LLM parser is used only when
`assistant.llm_base_url` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from moodboard.assistant.hints import apply_hints, load_hints
from moodboard.assistant.parser import Parser
from moodboard.assistant.planner import Planner
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.errors import DependencyError, NotFoundError
from moodboard.core.query import Filters, QueryState, Section, Turn
from moodboard.core.settings import AssistantSettings
from moodboard.index.profile import CatalogProfile
from moodboard.rank.search import SearchService


class TurnParser(Protocol):
    """Anything that turns a message into a `Turn` (the built-in parser or an LLM backend)."""

    def parse(self, message: str, state: QueryState | None = None) -> Turn:
        """Parse one message in the context of `state`."""
        ...


class GoalPlanner(Protocol):
    """Turns a goal into the sections of a cascade (learned from the catalog)."""

    def plan(self, goal: str, filters: Filters, *, require_spread: bool = False) -> tuple[Section, ...]:
        """Sections for `goal` under the conversation's filters (may be empty; with `require_spread`,
        only when its results scatter over several categories)."""
        ...


@dataclass(frozen=True)
class Understanding:
    """What the assistant knows of the live catalog: its parser, planner, profile and known words."""

    parser: TurnParser
    planner: GoalPlanner
    profile: CatalogProfile
    is_known: Callable[[str], bool]
    label: Callable[[str, str], str]


class CatalogUnderstanding:
    """The parser, planner and profile of the live index snapshot, rebuilt when the snapshot changes."""

    def __init__(self, cfg: AssistantSettings, search: SearchService) -> None:
        """Follow `search`'s live index; `cfg` chooses the optional LLM parser."""
        self.cfg = cfg
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
        apply_hints(vocab, load_hints(self.cfg.hints_file))
        builtin = Parser(vocab)
        parser: TurnParser = builtin
        cfg = self.cfg
        if cfg.llm_base_url:
            from moodboard.assistant.llm import LLMParser

            parser = LLMParser(
                cfg.llm_base_url, cfg.llm_model, builtin, api_key=cfg.llm_api_key, timeout_s=cfg.llm_timeout_s
            )
        planner = Planner(self.search, profile, vocab.label)
        return Understanding(parser, planner, profile, vocab.is_known, vocab.label)
