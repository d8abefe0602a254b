"""Home feeds and related pins: candidate sources → the one blender → a ranked, explained list.

`FeedService` asks the sources (Pixie walk with PinnerSage interests, the sequence model when a sequence
snapshot exists, and the content / category / popularity fills) for one request's candidates, excludes
what the user hid or bought, and lets `rank.blend.Blender` rank them: the LambdaMART ranker when a
ranker snapshot exists, the documented fallback weighting otherwise, then the per-category cap. The
answer says which fallback produced it (cold-start user, pin newer than the graph, short walk).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import NotFoundError
from moodboard.core.records import Candidate, Event, EventType
from moodboard.graph.recommender import GraphRecommender, Recommendation, RecommendationList
from moodboard.rank.blend import Blended, Blender
from moodboard.rank.blend_features import ItemStats, RequestContext, build_features, category_preferences
from moodboard.rank.ranker import Ranker
from moodboard.rank.sequence_source import SequenceSource
from moodboard.rank.sources import (
    CandidateSource,
    CategorySource,
    ContentSource,
    PopularitySource,
    SequenceCandidates,
    SourceContext,
    WalkSource,
    from_recommendations,
)

FILL_WHY = {
    "content": "few graph neighbours: content-similar pins (embeddings) fill the list",
    "category": "few graph neighbours: popular pins of the same category fill the list",
    "popularity": "few graph neighbours: popular pins fill the list",
}
COLD_USER = "cold-start user: no engagement yet, showing popular pins"
NEWER_PIN = "pin is newer than the taste graph (rebuild with `moodboard graph build`): popular pins"


def _none() -> None:
    return None


class FeedService:
    """Serves feeds and related pins through the one blender; thread-safe (no per-request state kept)."""

    def __init__(
        self,
        graph: Callable[[], GraphRecommender],
        *,
        sequence: Callable[[], SequenceSource | None] = _none,
        ranker: Callable[[], Ranker | None] = _none,
        blender: Blender | None = None,
    ) -> None:
        """`graph` gives the live recommender; `sequence` and `ranker` the live snapshots (None = none yet)."""
        self.graph = graph
        self.sequence = sequence
        self.ranker = ranker
        self.blender = blender or Blender()
        self.walk = WalkSource()
        self.fills: list[CandidateSource] = [ContentSource(), CategorySource(), PopularitySource()]

    def feed(
        self, user_id: int, k: int, *, seed: int | None = None, filter_saved: bool | None = None
    ) -> RecommendationList:
        """A user's home feed: walk and sequence candidates blended, popular pins filling a short list.

        Raises:
            InvalidInputError: k out of range.
            ConflictError: the taste graph has no edges yet.
        """
        start = time.perf_counter()
        rec = self.graph()
        rec.check_k(k)
        rec.check_ready()
        ctx = SourceContext(k, user_id=user_id, seed=seed, filter_saved=filter_saved, graph=rec)
        walk = self.walk.walk(ctx)
        seq = self.sequence()  # one snapshot per request: its user embedding is computed once and cached
        # what the walk started from is what the user just engaged with: never echoed back by any source
        exclude = rec.excluded_pins(user_id, filter_saved=filter_saved)
        exclude |= set(walk.query_pin_ids) | set(walk.interest_pin_ids)
        # pools wider than the page leave the category cap room and survive the exclusions
        pool_k = min(rec.settings.max_k, 2 * k + len(exclude) + len(walk.items))
        lists: dict[str, list[Candidate]] = {
            "walk": from_recommendations(walk.items, "walk"),
            "sequence": SequenceCandidates(lambda: seq).candidates(SourceContext(pool_k, user_id=user_id)),
            "popularity": PopularitySource().candidates(SourceContext(pool_k, user_id=user_id, graph=rec)),
        }
        blended = self._blend(rec, lists, k, exclude, user_id, walk.query_pin_ids, seq)
        fallback = None
        n_popular = blended.per_source.get("popularity", 0)
        if not walk.query_pin_ids and not blended.per_source.get("sequence"):
            fallback = COLD_USER
        elif n_popular and blended.ranked_by == "fallback":  # a ranker may rank popular pins first on merit
            found = len(blended.items) - n_popular
            fallback = f"walk found {found} pins; {n_popular} popular pins fill the rest"
        return RecommendationList(
            _recommendations(blended.items), walk.query_pin_ids, walk.interest_pin_ids, fallback, walk.steps,
            (time.perf_counter() - start) * 1000.0, blended.ranked_by,
        )  # fmt: skip

    def record(self, events: Sequence[Event]) -> int:
        """Append new positive engagement to the live sequence model's user histories (no retraining).

        The next request of each user recomputes their sequence embedding; returns how many were applied.
        """
        seq = self.sequence()
        if seq is None:
            return 0
        return sum(seq.observe(e.user_id, e.pin_id) for e in events if e.type != EventType.HIDE)

    def related(
        self, pin_id: int, k: int, *, user_id: int | None = None, seed: int | None = None, in_catalog: bool = False
    ) -> RecommendationList:
        """Pins related to a pin: the walk from it, filled by content, same-category or popular pins.

        A pin in the catalog (`in_catalog`) but not yet in the graph gets popular pins, said so.

        Raises:
            NotFoundError: the pin is in neither the graph nor (with `in_catalog`) the catalog.
            InvalidInputError: k out of range.
            ConflictError: the taste graph has no edges yet.
        """
        start = time.perf_counter()
        rec = self.graph()
        rec.check_k(k)
        exclude = rec.excluded_pins(user_id) | {pin_id}
        wide = min(rec.settings.max_k, k + len(exclude))
        try:
            walk = self.walk.walk(SourceContext(k, user_id=user_id, pin_id=pin_id, seed=seed, graph=rec))
        except NotFoundError:
            if not in_catalog:
                raise
            ctx = SourceContext(wide, user_id=user_id, graph=rec)
            blended = self._blend(rec, {"popularity": PopularitySource().candidates(ctx)}, k, exclude, user_id, [])
            return RecommendationList(
                _recommendations(blended.items), [pin_id], [], NEWER_PIN, ranked_by=blended.ranked_by
            )
        lists: dict[str, list[Candidate]] = {"walk": from_recommendations(walk.items, "walk")}
        fill_ctx = SourceContext(wide, user_id=user_id, pin_id=pin_id, graph=rec)
        if len(walk.items) < k:  # fills are asked only when the walk is short (the common case asks nothing)
            for source in self.fills:
                lists[source.name] = source.candidates(fill_ctx)
        blended = self._blend(rec, lists, k, exclude, user_id, [pin_id])
        fallback = next((FILL_WHY[s] for s in FILL_WHY if blended.per_source.get(s)), None)
        elapsed = (time.perf_counter() - start) * 1000.0
        return RecommendationList(
            _recommendations(blended.items), [pin_id], [], fallback, walk.steps, elapsed, blended.ranked_by
        )

    def _blend(
        self,
        rec: GraphRecommender,
        lists: Mapping[str, Sequence[Candidate]],
        k: int,
        exclude: set[int],
        user_id: int | None,
        recent: list[int],
        seq: SequenceSource | None = None,
    ) -> Blended:
        """Blend with the ranker when a ranker snapshot exists (features from this request), else the fallback."""
        ranker = self.ranker()

        def categories(pins: list[int]) -> Sequence[int]:
            return rec.pin_codes(pins)[0].tolist()

        features = None
        if ranker is not None:
            features = _feature_fn(rec, seq if seq is not None else self.sequence(), user_id, recent)
        return self.blender.blend(lists, k, exclude=exclude, ranker=ranker, features=features, categories=categories)


def _feature_fn(
    rec: GraphRecommender, seq: SequenceSource | None, user_id: int | None, recent: list[int]
) -> Callable[[Mapping[str, Sequence[Candidate]], Sequence[str]], tuple[IntArray, FloatArray]]:
    """The ranker's feature builder for one request (the user's sequence embedding computed once)."""
    user_vector = seq.user_embedding(user_id) if seq is not None and user_id is not None else None
    cats, bands, _ = rec.pin_codes(recent)
    band = Counter(b for b in bands.tolist() if b >= 0).most_common(1)
    ctx = RequestContext(
        now=time.time(),
        price_band=band[0][0] if band else None,
        category_weights=category_preferences(list(reversed(cats.tolist()))),  # recent is newest first
        user_vector=user_vector,
    )

    def build(lists: Mapping[str, Sequence[Candidate]], sources: Sequence[str]) -> tuple[IntArray, FloatArray]:
        pins = sorted({c.pin_id for cands in lists.values() for c in cands})
        cat, pband, deg = rec.pin_codes(pins)
        vectors = seq.item_vectors(pins) if seq is not None else None
        stats = ItemStats(
            np.asarray(pins, np.int64), deg.astype(np.float64), np.full(len(pins), np.nan),  # no first-seen times
            category=cat.astype(np.int64), price_band=pband.astype(np.int64), vectors=vectors,
        )  # fmt: skip
        return build_features(lists, sources, stats, ctx)

    return build


def _recommendations(items: Sequence[Candidate]) -> list[Recommendation]:
    """Blended candidates as the graph's result records (the graph's own label where it proposed the pin)."""
    out = []
    for c in items:
        label = c.reasons[0] if c.source == "walk" and c.reasons else c.source
        if c.source in ("popularity", "category"):
            label = "popular"
        out.append(Recommendation(c.pin_id, c.score, label, c.query_pin_id, c.via))
    return out
