"""A known user's taste as weighted pins, for the assistant: from their boards or the taste graph.

Both read through what they are given (a board lister, a feed), so the assistant never imports the
catalog store or the graph; `moodboard.runtime` wires them to the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from moodboard.core.errors import MoodboardError
from moodboard.core.records import Board

TASTE_PINS = 10


class _Interests(Protocol):
    """What `GraphTaste` reads of a feed answer."""

    @property
    def interest_pin_ids(self) -> Sequence[int]:
        """Medoids of the user's interests."""
        ...

    @property
    def query_pin_ids(self) -> Sequence[int]:
        """The user's recent engagement."""
        ...


class FeedSource(Protocol):
    """Answers a user's feed (a `LiveGraph`)."""

    def feed(self, user_id: int, k: int, *, seed: int | None = None) -> _Interests:
        """The user's feed with the pins it started from."""
        ...


class BoardTaste:
    """A known user's taste as the pins on their boards, newest boards first (a simple taste profile)."""

    def __init__(self, list_boards: Callable[[int], list[Board]]) -> None:
        """Read a user's boards with `list_boards` (the catalog store's)."""
        self.list_boards = list_boards

    def profile_pins(self, user_id: int) -> list[tuple[int, float]]:
        """Up to `TASTE_PINS` saved pins, each with weight 1."""
        try:
            boards = self.list_boards(user_id)
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

    def __init__(self, graph: FeedSource, fallback: BoardTaste) -> None:
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
