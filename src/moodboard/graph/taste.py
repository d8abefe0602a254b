"""PinnerSage-style taste profiles (Pal et al., KDD 2020): a user's engaged pins as several interests.

Engaged pins are clustered with Ward's method, on content embeddings when they exist and on
graph-neighbourhood vectors otherwise. Each cluster is one interest, represented by its medoid (the
member closest to all others) and weighted by the time-decayed engagement of its members. Each request
importance-samples a few interests, so the feed covers a user's tastes instead of only the loudest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, Int32Array
from moodboard.core.errors import InvalidInputError
from moodboard.graph.content import ContentNeighbours
from moodboard.graph.csr import TasteGraph
from moodboard.graph.weights import level_values


@dataclass(frozen=True)
class Interest:
    """One interest: its medoid pin (graph index), member pins and importance."""

    medoid: int
    members: Int32Array
    importance: float


@dataclass(frozen=True)
class TasteProfile:
    """A user's interests, most important first, and what they were clustered on."""

    interests: tuple[Interest, ...]
    space: Literal["embeddings", "graph"]


class NeighbourhoodVectors:
    """Graph-neighbourhood vectors of pins: each pin's collections, weighted and down-weighted by size.

    With at most `exact_max` collections the vector is the exact weighted row (so cosine equals
    item-item cosine on the pin x collection matrix); above that it is a sparse random projection
    to `dim` dimensions (Johnson-Lindenstrauss), computed on demand for the pins asked for.
    """

    def __init__(self, graph: TasteGraph, *, dim: int = 128, exact_max: int = 4096, seed: int = 0) -> None:
        """Prepare the projection for `graph` (no per-pin work happens here)."""
        self.graph = graph
        self.exact = graph.n_colls <= exact_max
        self.dim = max(graph.n_colls, 1) if self.exact else dim
        deg = np.diff(np.asarray(graph.coll_indptr)).astype(np.float32)
        self._coll_scale = 1.0 / np.sqrt(np.maximum(deg, 1.0))
        self._proj: NDArray[np.int8] | None = None
        self._seed = seed

    def _projection(self) -> NDArray[np.int8]:
        if self._proj is None:
            rng = np.random.default_rng(self._seed)
            self._proj = rng.choice(np.array([-1, 1], dtype=np.int8), size=(self.graph.n_colls, self.dim))
        return self._proj

    def vectors(self, pins: Int32Array, exclude_coll: int = -1) -> FloatArray:
        """(n, dim) L2-normalised vectors of graph pins; pins past the snapshot get zero vectors."""
        g = self.graph
        p = np.asarray(pins, dtype=np.int64)
        out = np.zeros((len(p), self.dim), dtype=np.float32)
        inside = np.flatnonzero(p < g.n_pins)
        if not len(inside):
            return out
        indptr = np.asarray(g.pin_indptr)
        lo, hi = indptr[p[inside]], indptr[p[inside] + 1]
        lens = hi - lo
        rows = np.repeat(inside, lens)
        edge = np.repeat(lo - np.cumsum(np.concatenate([[0], lens[:-1]])), lens) + np.arange(lens.sum())
        colls = np.asarray(g.pin_adj)[edge].astype(np.int64)
        packed = np.asarray(g.pin_wq)
        levels = np.where(edge & 1, packed[edge >> 1] >> 4, packed[edge >> 1] & 15)
        w = level_values()[levels] * self._coll_scale[colls]
        w[colls == exclude_coll] = 0.0
        if self.exact:
            np.add.at(out, (rows, colls), w)
        else:
            proj = self._projection()
            for r, c, wt in zip(rows.tolist(), colls.tolist(), w.tolist(), strict=True):
                out[r] += wt * proj[c]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def build_profile(
    pins: Int32Array,
    weights: FloatArray,
    vectors: FloatArray,
    *,
    max_interests: int = 8,
    threshold: float = 0.6,
    space: Literal["embeddings", "graph"] = "graph",
) -> TasteProfile:
    """Cluster engaged pins into interests with Ward linkage and pick each cluster's medoid.

    Args:
        pins: (n,) graph indices of engaged pins.
        weights: (n,) time-decayed engagement weights (importance of each pin).
        vectors: (n, d) L2-normalised vectors of the same pins.
        max_interests: cap on the number of clusters.
        threshold: cut the dendrogram at this fraction of the last merge height (PinnerSage's alpha).
        space: what the vectors are, for reporting.

    Returns:
        The profile, interests sorted by importance (highest first).
    """
    n = len(pins)
    if n != len(weights) or n != len(vectors):
        raise InvalidInputError("pins, weights and vectors must have the same length", "pass aligned arrays")
    if n == 0:
        return TasteProfile((), space)
    if n == 1:
        return TasteProfile((Interest(int(pins[0]), np.asarray(pins, np.int32), float(weights[0])),), space)
    from scipy.cluster.hierarchy import fcluster, linkage

    x = np.asarray(vectors, dtype=np.float64)
    z = linkage(x, method="ward")
    top = float(z[-1, 2])
    labels = fcluster(z, t=threshold * top, criterion="distance") if top > 0 else np.ones(n, dtype=np.int32)
    if labels.max() > max_interests:
        labels = fcluster(z, t=max_interests, criterion="maxclust")
    interests = []
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        sub = x[members]
        d2 = ((sub[:, None, :] - sub[None, :, :]) ** 2).sum(axis=2).sum(axis=1)
        medoid = int(pins[members[int(np.argmin(d2))]])
        interests.append(Interest(medoid, np.asarray(pins[members], np.int32), float(weights[members].sum())))
    interests.sort(key=lambda it: -it.importance)
    return TasteProfile(tuple(interests), space)


def sample_interests(profile: TasteProfile, n: int, rng: np.random.Generator) -> list[Interest]:
    """Draw up to n distinct interests with probability proportional to importance."""
    its = profile.interests
    if n >= len(its):
        return list(its)
    imp = np.array([max(it.importance, 1e-12) for it in its], dtype=np.float64)
    pick = rng.choice(len(its), size=n, replace=False, p=imp / imp.sum())
    return [its[i] for i in sorted(pick.tolist())]


def interest_slots(
    scores: NDArray[np.float64], owner: NDArray[np.intp], interests: list[Any], k: int
) -> NDArray[np.intp]:
    """Order candidates so the first k give each sampled interest a share of slots by its importance.

    PinnerSage importance-samples interests per request; a feed should then show every sampled interest,
    not only the one the graph reaches best. Each interest's candidates are ranked by score; slots go to
    interests in proportion to importance (at least one each while candidates last), then by score.
    """
    imp = np.array([max(float(it.importance), 1e-9) for it in interests])
    quota = np.maximum(1, np.floor(k * imp / imp.sum())).astype(int)
    ranked = np.argsort(-scores, kind="stable")
    queues = [[int(i) for i in ranked if owner[i] == j] for j in range(len(interests))]
    chosen: list[int] = []
    taken: set[int] = set()
    while len(chosen) < k and any(queues):
        for j, queue in enumerate(queues):  # interleave: one pick per interest per round while quota lasts
            if queue and quota[j] > 0 and len(chosen) < k:
                i = queue.pop(0)
                chosen.append(i)
                taken.add(i)
                quota[j] -= 1
        if not any(quota[j] > 0 and queues[j] for j in range(len(queues))):
            break
    rest = [int(i) for i in ranked if int(i) not in taken]
    return np.array(chosen + rest, dtype=np.intp)


def look_alikes(
    content: ContentNeighbours, medoids: list[int], exclude: set[int], per: int
) -> tuple[Int32Array, Int32Array]:
    """Up to `per` pins most similar to each medoid (skipping `exclude` and -1 medoids), with the medoid's slot."""
    out_p: list[int] = []
    out_q: list[int] = []
    taken = set(exclude)
    for j, m in enumerate(medoids):
        if m < 0:
            continue
        order, sims = content.nearest(m, per + len(taken) + 1)
        got = 0
        for p, sim in zip(order.tolist(), sims.tolist(), strict=True):
            if got == per:
                break
            if p not in taken and sim > 0:
                taken.add(p)
                out_p.append(p)
                out_q.append(j)
                got += 1
    return np.array(out_p, np.int32), np.array(out_q, np.int32)
