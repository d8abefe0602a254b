"""Candidate sources behind one interface: each proposes ranked `Candidate`s for one request.

A source answers `candidates(context)` with its own best-first list; `rank.blend` merges the lists. The
graph sources read the request's one recommender snapshot from the context (so a snapshot swap never
mixes two graphs in one answer); the sequence source reads the live sequence snapshot, when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Candidate

if TYPE_CHECKING:
    from moodboard.graph.recommender import GraphRecommender, Recommendation, RecommendationList
    from moodboard.rank.search import SearchRequest, SearchService
    from moodboard.rank.sequence_source import SequenceSource


@dataclass(frozen=True)
class SourceContext:
    """One request as sources see it: who, about which pin or query, how many, and the graph snapshot."""

    k: int
    user_id: int | None = None
    pin_id: int | None = None
    query: SearchRequest | None = None
    seed: int | None = None
    filter_saved: bool | None = None
    graph: GraphRecommender | None = None

    def need_graph(self) -> GraphRecommender:
        """The request's graph recommender.

        Raises:
            InvalidInputError: the caller built a context for a graph source without one.
        """
        if self.graph is None:
            raise InvalidInputError("a graph source needs the request's graph", "pass graph= in the SourceContext")
        return self.graph


class CandidateSource(Protocol):
    """Anything that proposes candidates for a request, best first."""

    name: str

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """The source's candidates for `context`, best first (rank = position)."""
        ...


def from_recommendations(items: Sequence[Recommendation], source: str) -> list[Candidate]:
    """Graph recommendations as candidates of `source` (the graph's own label kept as the reason)."""
    return [Candidate(r.pin_id, r.score, source, (r.source,), i, r.query_pin_id, r.via) for i, r in enumerate(items)]


class WalkSource:
    """Pixie walks from the pin (related) or from the user's engagement and sampled PinnerSage interests (feed).

    The walk's pool is scored together with the taste profile's affinities and interest look-alikes inside
    the graph (PinnerSage needs the walk's pool to give each sampled interest its slots), so candidates
    labelled "walk+profile" or "profile" (in `reasons`) come from this source too.
    """

    name = "walk"

    def walk(self, context: SourceContext) -> RecommendationList:
        """The walk's answer with what it started from (query pins, interests, steps)."""
        rec = context.need_graph()
        if context.pin_id is not None:
            return rec.related(context.pin_id, context.k, user_id=context.user_id, seed=context.seed)
        if context.user_id is None:
            raise InvalidInputError("a walk needs a pin or a user", "pass pin_id or user_id")
        return rec.feed(context.user_id, context.k, seed=context.seed, filter_saved=context.filter_saved)

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """The walk's pins as candidates."""
        return from_recommendations(self.walk(context).items, self.name)


class PopularitySource:
    """The most connected pins of the graph (what fills a cold start or a short list)."""

    name = "popularity"

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """Popular pins minus what the user hid or bought."""
        rec = context.need_graph()
        k = max(1, min(context.k, rec.settings.max_k))
        return from_recommendations(rec.popular(k, user_id=context.user_id), self.name)


class CategorySource:
    """Popular pins of the asked-about pin's category (related pins of a pin the walk cannot leave)."""

    name = "category"

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """Same-category popular pins; none without a pin or a category."""
        if context.pin_id is None:
            return []
        return from_recommendations(context.need_graph().category_popular(context.pin_id, context.k), self.name)


class ContentSource:
    """Pins that look like the asked-about pin (content embeddings of the graph's pins)."""

    name = "content"

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """Content neighbours of the pin; none without a pin or embeddings."""
        if context.pin_id is None:
            return []
        return from_recommendations(context.need_graph().content_neighbours(context.pin_id, context.k), self.name)


class SequenceCandidates:
    """The sequence model's next pins for the user (PinnerFormer-style), when a sequence snapshot exists."""

    name = "sequence"

    def __init__(self, load: Callable[[], SequenceSource | None]) -> None:
        """`load` returns the live sequence source, or None when none was trained."""
        self.load = load

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """Top-k next pins; none for an anonymous user, a user the model has not seen, or no snapshot."""
        source = self.load()
        if source is None or context.user_id is None:
            return []
        found = source.candidates(context.user_id, context.k)
        return [replace(c, rank=i) for i, c in enumerate(found)]


class SearchSource:
    """The search service (vector + lexical, fused) as a candidate source for a query."""

    name = "search"

    def __init__(self, search: SearchService) -> None:
        """Wrap the one search service."""
        self.search = search

    def candidates(self, context: SourceContext) -> list[Candidate]:
        """The query's hits; none without a query."""
        if context.query is None:
            return []
        hits = self.search.search(replace(context.query, k=context.k)).hits
        return [Candidate(h.pin_id, h.score, self.name, tuple(h.sources), i) for i, h in enumerate(hits)]
