"""Graph candidates: Pixie walks with PinnerSage interests, plus the graph's popular and content lists.

`GraphRecommender` combines a Pixie walk (graph.random_walk) with PinnerSage interests (graph.taste) and
the real-time overlay (graph.delta). Every walk result names the query pin and the collection that led
to it. Blending these lists with other sources, filling short lists and diversity are not done here:
`rank.feed` merges them (with the sequence model and the learned ranker) in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, Int32Array
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.settings import GraphSettings
from moodboard.graph.content import ContentNeighbours
from moodboard.graph.csr import HIDDEN, PURCHASED, SAVED, TasteGraph
from moodboard.graph.delta import DeltaOverlay
from moodboard.graph.random_walk import FeatureBias, PixieWalker, WalkResult
from moodboard.graph.taste import (
    NeighbourhoodVectors,
    TasteProfile,
    build_profile,
    interest_slots,
    look_alikes,
    sample_interests,
)


@dataclass(frozen=True)
class Recommendation:
    """One recommended pin and why: the query pin and collection that led to it, or the fallback."""

    pin_id: int
    score: float
    source: str  # "walk", "profile" or "popular"
    query_pin_id: int | None = None
    via: str | None = None


@dataclass(frozen=True)
class RecommendationList:
    """A ranked answer plus what it was computed from."""

    items: list[Recommendation]
    query_pin_ids: list[int] = field(default_factory=list)
    interest_pin_ids: list[int] = field(default_factory=list)
    fallback: str | None = None
    steps: int = 0
    elapsed_ms: float = 0.0
    ranked_by: str = "walk"  # "walk" (graph order), or the blender's "ranker" / "fallback"


@dataclass
class _History:
    pins: Int32Array
    weights: FloatArray
    exclude: set[int]


class GraphRecommender:
    """Answers related-pin and feed requests on one graph snapshot plus its real-time overlay."""

    def __init__(
        self,
        graph: TasteGraph,
        settings: GraphSettings,
        *,
        overlay: DeltaOverlay | None = None,
        embeddings: FloatArray | None = None,
    ) -> None:
        """Wrap a snapshot.

        Args:
            graph: the taste graph snapshot.
            settings: walk and hygiene parameters.
            overlay: real-time events since the snapshot (a fresh one when None).
            embeddings: optional (n_pins, d) L2-normalised content vectors aligned with `graph.pin_ids`;
                used for taste profiles and for the content fallback of cold-start pins.
        """
        if embeddings is not None and len(embeddings) != graph.n_pins:
            raise InvalidInputError(
                f"embeddings have {len(embeddings)} rows for {graph.n_pins} graph pins",
                "align embeddings with graph.pin_ids",
            )
        self.graph = graph
        self.settings = settings
        self.overlay = overlay or DeltaOverlay(graph)
        self.walker = PixieWalker(graph)
        self.embeddings = embeddings
        self.content = (
            ContentNeighbours(
                embeddings, exact_below=settings.content_exact_below, nprobe=settings.content_nprobe, seed=settings.seed
            )
            if embeddings is not None
            else None
        )
        self.neighbourhoods = NeighbourhoodVectors(graph, seed=settings.seed)
        deg = np.diff(np.asarray(graph.pin_indptr))
        self._popular = np.argsort(-deg, kind="stable")[: min(len(deg), 10 * settings.max_k)].astype(np.int32)
        self._popular = self._popular[deg[self._popular] > 0]

    # ---- public API -------------------------------------------------------------------------
    def related(
        self, pin_id: int, k: int, *, user_id: int | None = None, seed: int | None = None
    ) -> RecommendationList:
        """Pins related to `pin_id` by a walk from it (fewer than k, or none, for a pin with few neighbours).

        Raises:
            NotFoundError: the pin is in neither the snapshot nor the overlay.
            InvalidInputError: k out of range.
        """
        start = time.perf_counter()
        self.check_k(k)
        self._check_graph()
        q = self.overlay.pin_index(pin_id)
        if q < 0:
            raise NotFoundError(
                f"pin {pin_id} is not in the taste graph",
                "check the id, or rebuild the graph with `moodboard graph build` after ingesting it",
                field="pin_id",
            )
        exclude = {q} | (self._history(user_id).exclude if user_id is not None else set())
        res = self._walk(np.array([q], np.int32), np.ones(1, np.float32), seed, None)
        items = self._rank(res, np.array([q], np.int32), exclude, k, profile=None)
        return RecommendationList(items, [pin_id], [], None, res.steps, _ms(start))

    def feed(
        self,
        user_id: int,
        k: int,
        *,
        seed: int | None = None,
        filter_saved: bool | None = None,
        bias: FeatureBias | None = None,
    ) -> RecommendationList:
        """Walk candidates for a user's feed from recent engagement and sampled interests (none at cold start).

        Raises:
            InvalidInputError: k out of range.
        """
        start = time.perf_counter()
        self.check_k(k)
        self._check_graph()
        hist = self._history(user_id, filter_saved=filter_saved)
        if not len(hist.pins):
            return RecommendationList([], [], [], None, 0, _ms(start))  # cold start: rank.feed fills it
        rng = np.random.default_rng(self._seed(seed))
        profile = self.profile_of(hist.pins, hist.weights)
        interests = sample_interests(profile, self.settings.n_interests, rng)
        q_pins, q_w = self._queries(hist, interests)
        res = self._walk(q_pins, q_w, seed, bias if bias is not None else self.user_bias(hist.pins), user_id)
        # the pins the walk started from are what the user just engaged with: never echo them back
        seen = hist.exclude | set(q_pins.tolist())
        items = self._rank(res, q_pins, seen, k, profile=(interests, hist))
        return RecommendationList(
            items,
            [self.overlay.pin_id(int(p)) for p in q_pins[: len(q_pins) - len(interests)]],
            [self.overlay.pin_id(it.medoid) for it in interests],
            None,
            res.steps,
            _ms(start),
        )

    def score_pins(
        self, user_id: int, pin_ids: list[int], *, blend: float | None = None, seed: int | None = None
    ) -> FloatArray:
        """Score given pins for a user (0 where the walk never reached them); for offline evaluation."""
        hist = self._history(user_id, filter_saved=False)
        cand = np.array([self.overlay.pin_index(p) for p in pin_ids], dtype=np.int32)
        if not len(hist.pins):
            return np.zeros(len(cand), np.float32)
        rng = np.random.default_rng(self._seed(seed))
        lam = self.settings.profile_blend if blend is None else blend
        interests = []
        if lam > 0:
            interests = sample_interests(self.profile_of(hist.pins, hist.weights), self.settings.n_interests, rng)
        q_pins, q_w = self._queries(hist, interests)
        res = self._walk(q_pins, q_w, seed, None, user_id)
        walk = np.zeros(len(cand), np.float32)
        pos = {int(p): i for i, p in enumerate(res.pins.tolist())}
        scores = self._penalise(res.pins, res.scores)
        for j, c in enumerate(cand.tolist()):
            i = pos.get(c)
            if i is not None:
                walk[j] = scores[i]
        walk = walk / max(float(walk.max()), 1e-12)
        if lam > 0 and interests:
            walk = (1 - lam) * walk + lam * self._profile_scores(cand, interests, hist)
        # pins the walk never reached are ordered by popularity, far below any visited pin
        deg = np.zeros(len(cand), np.float64)
        inside = (cand >= 0) & (cand < self.graph.n_pins)
        deg[inside] = self.graph.pin_degree(cand[inside])
        return (walk + 1e-6 * deg / max(float(deg.max()), 1.0)).astype(np.float32)

    def popular(
        self, k: int, *, user_id: int | None = None, exclude_pin_ids: set[int] | None = None
    ) -> list[Recommendation]:
        """The most connected pins, minus what the user hid, bought (or saved) and `exclude_pin_ids`."""
        self.check_k(k)
        exclude = self._history(user_id).exclude if user_id is not None else set()
        exclude |= {i for i in (self._pin_idx(p) for p in exclude_pin_ids or set()) if i >= 0}
        return self._popular_items(exclude, k)

    def excluded_pins(self, user_id: int | None, *, filter_saved: bool | None = None) -> set[int]:
        """Pin ids never to serve this user: hidden and purchased (and saved, per `filter_saved`)."""
        if user_id is None:
            return set()
        return {self.overlay.pin_id(p) for p in self._history(user_id, filter_saved=filter_saved).exclude}

    def content_neighbours(self, pin_id: int, k: int) -> list[Recommendation]:
        """The k pins that look most like `pin_id` (content embeddings); empty without embeddings."""
        q = self._pin_idx(pin_id)
        if self.content is None or not 0 <= q < self.graph.n_pins:
            return []
        order, sims = self.content.nearest(q, k + 1)
        pins = self.graph.pin_ids
        found = zip(order.tolist(), sims.tolist(), strict=True)
        return [Recommendation(int(pins[p]), float(sim), "content") for p, sim in found if p != q][:k]

    def category_popular(self, pin_id: int, k: int) -> list[Recommendation]:
        """The most connected pins of `pin_id`'s category (feature 0), `pin_id` left out."""
        q = self._pin_idx(pin_id)
        feats: NDArray[np.int16] = np.asarray(self.graph.pin_feats)
        if not 0 <= q < self.graph.n_pins or not feats.shape[1] or feats[q, 0] < 0:
            return []
        same = [p for p in self._popular.tolist() if feats[p, 0] == feats[q, 0] and p != q][:k]
        return [Recommendation(int(self.graph.pin_ids[p]), 0.0, "popular") for p in same]

    def pin_codes(self, pin_ids: list[int]) -> tuple[Int32Array, Int32Array, FloatArray]:
        """(category code, price-band code, degree) of each pin: -1 / -1 / 0 for pins outside the snapshot."""
        idx = np.array([self._pin_idx(p) for p in pin_ids], dtype=np.int64)
        inside = (idx >= 0) & (idx < self.graph.n_pins)
        feats: NDArray[np.int16] = np.asarray(self.graph.pin_feats)
        cat = np.full(len(idx), -1, np.int32)
        band = np.full(len(idx), -1, np.int32)
        deg = np.zeros(len(idx), np.float32)
        if inside.any():
            if feats.shape[1] > 0:
                cat[inside] = feats[idx[inside], 0]
            if feats.shape[1] > 1:
                band[inside] = feats[idx[inside], 1]
            deg[inside] = self.graph.pin_degree(idx[inside].astype(np.int32))
        return cat, band, deg

    def user_bias(self, pins: Int32Array) -> FeatureBias | None:
        """Bias toward the feature values (category, price band, language) of the user's recent pins."""
        feats: NDArray[np.int16] = np.asarray(self.graph.pin_feats)
        strength = self.settings.feature_bias
        if strength <= 0 or feats.shape[1] == 0 or not self.graph.features:
            return None
        recent = np.asarray(pins[: self.settings.max_query_pins])
        codes = feats[recent[recent < self.graph.n_pins]]
        width = max(1, *(len(v) for v in self.graph.features.values()))
        pref = np.zeros((feats.shape[1], width), np.uint8)
        active = np.zeros(feats.shape[1], np.uint8)
        for f in range(feats.shape[1]):
            known = codes[:, f][codes[:, f] >= 0] if len(codes) else np.zeros(0, np.int16)
            if len(known):
                pref[f, known] = 1
                active[f] = 1
        return FeatureBias(pref, active, strength) if active.any() else None

    def profile_of(self, pins: Int32Array, weights: FloatArray) -> TasteProfile:
        """Cluster engaged pins into interests (embeddings when available, else neighbourhoods)."""
        p, w = pins[:200], weights[:200] * self._recency(min(len(pins), 200))  # most recent first
        vecs, space = self._vectors(p)
        return build_profile(p, w, vecs, max_interests=self.settings.max_interests, space=space)

    # ---- internals -------------------------------------------------------------------------
    def check_k(self, k: int) -> None:
        """Raise InvalidInputError unless 1 <= k <= settings.max_k."""
        if not 1 <= k <= self.settings.max_k:
            raise InvalidInputError(f"k={k} is out of range", f"ask for 1 to {self.settings.max_k} results", field="k")

    def check_ready(self) -> None:
        """Raise ConflictError when the graph has no edges yet (nothing to walk)."""
        self._check_graph()

    def _check_graph(self) -> None:
        if self.graph.n_edges == 0 and len(self.overlay) == 0:
            raise ConflictError(  # a client-visible state, not an outage: 409, not 503
                "the taste graph has no edges",
                "record saves or board pins, then run `moodboard graph build`",
            )

    def _seed(self, seed: int | None) -> int:
        return self.settings.seed if seed is None else int(seed)

    def _pin_idx(self, pin_id: int) -> int:
        return self.overlay.pin_index(pin_id)

    def _vectors(self, pins: Int32Array) -> tuple[FloatArray, Any]:
        if self.embeddings is not None:
            inside = np.minimum(pins, self.graph.n_pins - 1)
            vecs = np.where((pins < self.graph.n_pins)[:, None], self.embeddings[inside], 0.0)
            return vecs.astype(np.float32), "embeddings"
        return self.neighbourhoods.vectors(pins), "graph"

    def _history(self, user_id: int | None, *, filter_saved: bool | None = None) -> _History:
        """Engaged pins with decayed weights, plus pins to exclude (hidden, purchased, maybe saved)."""
        g, empty = self.graph, _History(np.zeros(0, np.int32), np.zeros(0, np.float32), set())
        if user_id is None:
            return empty
        fs = self.settings.filter_saved if filter_saved is None else filter_saved
        u = int(g.user_index([user_id])[0])
        pins: dict[int, float] = {}
        exclude: set[int] = set()
        if u >= 0:
            nb, w = g.history(u)  # most recent first; dict keeps that order for equal weights
            pins = dict(zip(nb.tolist(), w.tolist(), strict=True))
            hp, hf = g.hygiene(u)
            mask = HIDDEN | PURCHASED | (SAVED if fs else 0)
            exclude = set(hp[(hf & mask) > 0].tolist())
        d = self.overlay.user_delta(user_id)
        exclude -= d.unhidden
        exclude |= d.hidden | d.purchased | (d.saved if fs else set())
        fresh: dict[int, float] = {}
        for pin, weight, _ts in reversed(d.positives):  # real-time engagement first, newest first
            fresh[pin] = fresh.get(pin, 0.0) + weight
        for pin in d.hidden:
            pins.pop(pin, None)
        pins = {**fresh, **{p: w for p, w in pins.items() if p not in fresh}}
        if not pins:
            return _History(empty.pins, empty.weights, exclude)
        arr = np.array(list(pins.items()), dtype=np.float64)
        return _History(arr[:, 0].astype(np.int32), arr[:, 1].astype(np.float32), exclude)

    def _queries(self, hist: _History, interests: list[Any]) -> tuple[Int32Array, FloatArray]:
        m = self.settings.max_query_pins
        q = hist.pins[:m]
        # Pixie weights query pins by time since the action; counting actions (most recent first) also
        # orders the engagements of one session, which clock-time decay cannot tell apart
        w = hist.weights[:m] * self._recency(len(q))
        w = w / max(float(w.sum()), 1e-12)
        if interests:
            imp = np.array([it.importance for it in interests], np.float64)
            med = np.array([it.medoid for it in interests], np.int32)
            q = np.concatenate([q, med]).astype(np.int32)
            w = np.concatenate([w, 0.5 * imp / imp.sum()]).astype(np.float32)
        return q, w

    def _recency(self, n: int) -> FloatArray:
        """Weight of the n most recent actions: halves every `recency_half_life` newer actions."""
        return np.exp2(-np.arange(n) / self.settings.recency_half_life).astype(np.float32)

    def _walk(
        self, q: Int32Array, w: FloatArray, seed: int | None, bias: FeatureBias | None, user_id: int | None = None
    ) -> WalkResult:
        s = self.settings
        skip = self.overlay.user_index(user_id) if user_id is not None else -1
        return self.walker.walk(
            q, w, steps=s.walk_steps, restart=s.restart_prob, n_p=s.n_p, n_v=s.n_v,
            seed=self._seed(seed), bias=bias, overlay=self.overlay.arrays(), skip_coll=skip, lanes=s.walk_lanes,
        )  # fmt: skip

    def _penalise(self, pins: Int32Array, scores: FloatArray) -> FloatArray:
        beta = self.settings.degree_penalty
        if beta <= 0:
            return scores
        deg = np.ones(len(pins), np.float64)
        inside = pins < self.graph.n_pins
        deg[inside] = np.maximum(self.graph.pin_degree(pins[inside]), 1)
        return (scores / deg**beta).astype(np.float32)

    def _profile_scores(self, cand: Int32Array, interests: list[Any], hist: _History) -> FloatArray:
        """Affinity of candidates to their best-matching sampled interest.

        "medoid": cosine to the interest's medoid (PinnerSage's representative); "members": mean cosine to
        the interest's member pins (less noisy when vectors are sparse graph neighbourhoods).
        """
        return self._affinities(cand, interests).max(axis=1)

    def _affinities(self, cand: Int32Array, interests: list[Any]) -> FloatArray:
        """(n candidates, n interests) affinity of each candidate to each interest (see `_profile_scores`)."""
        vecs, _ = self._vectors(cand)
        if self.settings.profile_score == "medoid":
            reps, _ = self._vectors(np.array([it.medoid for it in interests], np.int32))
        else:
            reps = np.stack([self._vectors(np.asarray(it.members, np.int32))[0].mean(axis=0) for it in interests])
        return (vecs @ reps.T).astype(np.float32)

    def _rank(
        self, res: WalkResult, q: Int32Array, exclude: set[int], k: int, profile: tuple[list[Any], _History] | None
    ) -> list[Recommendation]:
        if not len(res.pins):
            return []
        keep = ~np.isin(res.pins, np.fromiter(exclude, np.int64, len(exclude)))
        pins, q_of, via = res.pins[keep], res.query[keep], res.via[keep]
        scores = self._penalise(pins, res.scores[keep]).astype(np.float64)
        sources = np.full(len(pins), "walk", dtype=object)
        slots: NDArray[np.intp] | None = None
        if profile is not None and profile[0] and self.settings.profile_blend > 0 and len(pins):
            lam = self.settings.profile_blend
            pool = np.argsort(-scores, kind="stable")[: max(10 * k, 200)]
            pins, q_of, via, scores = pins[pool], q_of[pool], via[pool], scores[pool]
            scores = (1 - lam) * scores / max(float(scores.max()), 1e-12)
            sources = np.full(len(pins), "walk+profile", dtype=object)
            # PinnerSage: each sampled interest also brings the pins that look most like it, so an interest
            # the graph cannot reach yet (pins only this user engaged with) still shows up in the feed
            c_pins, c_q = self._interest_candidates(profile[0], len(q), exclude | set(pins.tolist()), k)
            pins = np.concatenate([pins, c_pins]).astype(np.int32)
            q_of = np.concatenate([q_of, c_q]).astype(np.int32)
            via = np.concatenate([via, np.full(len(c_pins), -1, np.int32)])
            scores = np.concatenate([scores, np.zeros(len(c_pins))])
            sources = np.concatenate([sources, np.full(len(c_pins), "profile", dtype=object)])
            aff = self._affinities(pins, profile[0])
            scores = scores + lam * aff.max(axis=1)
            if self.embeddings is not None and len(profile[0]) > 1:
                slots = interest_slots(scores, aff.argmax(axis=1), profile[0], k)
        if slots is not None:
            top = slots[:k]
        elif len(scores) > k:  # only the top k need sorting
            part = np.argpartition(-scores, k - 1)[:k]
            top = part[np.lexsort((part, -scores[part]))]  # by score, ties by visit order (as a stable sort)
        else:
            top = np.argsort(-scores, kind="stable")
        pin_ids = [self.overlay.pin_id(p) for p in pins[top].tolist()]
        query_ids = {int(j): self.overlay.pin_id(int(q[j])) for j in np.unique(q_of[top]).tolist()}
        vias = {int(c): self._describe(int(c)) for c in np.unique(via[top]).tolist()}
        return [
            Recommendation(pin_ids[n], float(scores[i]), str(sources[i]), query_ids[int(q_of[i])], vias[int(via[i])])
            for n, i in enumerate(top.tolist())
        ]

    def _interest_candidates(
        self, interests: list[Any], n_queries: int, exclude: set[int], k: int
    ) -> tuple[Int32Array, Int32Array]:
        """Pins nearest to each sampled interest's medoid by content, with the index of that medoid's query.

        The medoids are the last `len(interests)` query pins (see `_queries`); none without embeddings.
        """
        if self.content is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        medoids = [it.medoid if it.medoid < self.graph.n_pins else -1 for it in interests]
        pins, owner = look_alikes(self.content, medoids, exclude, max(10, -(-k // len(interests))))
        return pins, (owner + n_queries - len(interests)).astype(np.int32)

    def _describe(self, coll: int) -> str:
        if coll < 0:
            return "looks like this taste interest"
        if coll < self.graph.n_colls:
            return self.graph.describe_coll(coll)
        return "user (real-time)"

    def _popular_items(self, exclude: set[int], k: int) -> list[Recommendation]:
        out: list[Recommendation] = []
        deg = np.asarray(self.graph.pin_indptr)
        for p in self._popular.tolist():
            if p in exclude:
                continue
            score = float(deg[p + 1] - deg[p])
            out.append(Recommendation(int(self.graph.pin_ids[p]), score, "popular"))
            if len(out) == k:
                break
        return out


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
