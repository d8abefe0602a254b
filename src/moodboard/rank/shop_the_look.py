"""Shop the look: a scene photo in, the products in it out, region by region, plus one merged list.

Steps (each timed): regions are proposed (any `Proposer`: classical cues or an operator's detector),
all region crops are embedded in one batch by the index's own encoder, and each region searches the
index through `SearchService` (vector query, category-vote re-rank included). A region's label is the
category most of its top results share; when that share is a clear majority the region is searched
again within that category, so a lamp's region lists lamps and not the sofa behind it. The merged list
interleaves the regions' lists by rank (a product two regions found is listed once, with both
regions), so every region contributes its best items near the top.

The proposer and its regions are structural types, so this module does not import `moodboard.embed`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from moodboard.core.errors import InvalidInputError
from moodboard.core.query import Filters
from moodboard.core.settings import LookSettings
from moodboard.rank.search import SearchHit, SearchRequest, SearchService

Box = tuple[int, int, int, int]


class ProposedRegion(Protocol):
    """What a proposer returns per region (`moodboard.embed.regions.Region` fits)."""

    @property
    def box(self) -> Box:
        """(left, top, right, bottom) in photo pixels."""
        ...

    @property
    def score(self) -> float:
        """Objectness in [0, 1]."""
        ...

    @property
    def source(self) -> str:
        """Which cue or detector found it."""
        ...

    @property
    def label(self) -> str | None:
        """A detector's class name, if it has one."""
        ...


class Proposer(Protocol):
    """Finds regions in an (H, W, 3) uint8 RGB array (`moodboard.embed.regions.RegionProposer` fits)."""

    name: str

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Any]:
        """Regions best first."""
        ...


@dataclass(frozen=True)
class LookRegion:
    """One answered region: box, label (voted category or detector label), objectness, its products."""

    box: Box
    score: float
    source: str
    label: str | None
    vote_share: float
    filtered: bool
    hits: list[SearchHit]
    match: float = 0.0  # mean similarity of its top results: how well the catalog matches what it shows

    def to_json(self, index: int) -> dict[str, Any]:
        """The region as the API returns it."""
        left, top, right, bottom = self.box
        return {
            "id": index,
            "bbox": {"left": left, "top": top, "right": right, "bottom": bottom},
            "label": self.label,
            "score": round(self.score, 4),
            "source": self.source,
            "vote_share": round(self.vote_share, 4),
            "match": round(self.match, 4),
            "category_filtered": self.filtered,
            "results": [h.to_json() for h in self.hits],
        }


@dataclass(frozen=True)
class LookResponse:
    """Regions best first, the merged list, the photo's size, the model and the time each step took."""

    regions: list[LookRegion]
    merged: list[tuple[SearchHit, list[int]]]  # (hit, indices of the regions that found it)
    width: int
    height: int
    model_id: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """`{"regions": [...], "results": [...], "image": {...}, "timings_ms": {...}}`."""
        results = []
        for hit, regions in self.merged:
            item = hit.to_json()
            item["regions"] = regions
            results.append(item)
        return {
            "regions": [r.to_json(i) for i, r in enumerate(self.regions)],
            "results": results,
            "image": {"width": self.width, "height": self.height},
            "model_id": self.model_id,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def vote(hits: list[SearchHit], depth: int) -> tuple[str | None, float]:
    """(most common category among the top `depth` hits, its share of them); (None, 0) without categories."""
    cats = [h.pin.category for h in hits[:depth] if h.pin is not None and h.pin.category]
    if not cats:
        return None, 0.0
    label, count = Counter(cats).most_common(1)[0]
    return label, count / min(depth, len(hits))


class ShopTheLook:
    """Answers a scene photo with per-region products through the search service."""

    def __init__(self, search: SearchService, proposer: Proposer, settings: LookSettings) -> None:
        """Take the search service, a region proposer and the look settings."""
        self.search = search
        self.proposer = proposer
        self.settings = settings

    def _region_hits(
        self, vector: np.ndarray, k: int, filters: Filters
    ) -> tuple[list[SearchHit], str | None, float, bool]:
        """Search one region under `filters`; re-search within its voted category when the vote is clear
        (not when `filters` already name categories: the shopper's scope wins)."""
        req = SearchRequest(vector=vector.tolist(), k=k, mode="vector", cutoff=False, facets=(), filters=filters)
        hits = self.search.search(req).hits
        label, share = vote(hits, self.settings.vote_depth)
        clear = label is not None and share >= self.settings.min_vote_share
        if not (self.settings.category_filter and clear and not filters.categories):
            return hits, label, share, False
        flt = filters.model_copy(update={"categories": (label,)})
        narrowed = self.search.search(
            SearchRequest(vector=vector.tolist(), k=k, mode="vector", cutoff=False, facets=(), filters=flt)
        ).hits
        return (narrowed if narrowed else hits), label, share, bool(narrowed)

    def answer(self, image: Any, k: int = 20, filters: Filters | None = None) -> LookResponse:
        """Regions and products of a decoded photo (PIL image); `k` is the length of the merged list;
        `filters` (e.g. a conversation's price limit) constrain every region's search.

        Raises:
            InvalidInputError: k out of range.
        """
        if not 1 <= k <= self.search.settings.max_k:
            raise InvalidInputError(f"k={k} is out of range", f"ask for 1..{self.search.settings.max_k}", field="k")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        photo = image if image.mode == "RGB" else image.convert("RGB")  # decoded once, never copied again
        width, height = photo.size
        # one reduced working copy: a region is embedded at 224 px, so a 12-megapixel photo's full
        # resolution only costs time (every cue, crop and letterbox would resize from it again)
        factor = -(-max(width, height) // self.settings.work_side)  # ceil
        work = photo.reduce(factor) if factor > 1 else photo
        rgb = np.asarray(work)  # (h, w, 3)
        proposed = self.proposer.propose(rgb, self.settings.max_regions)[: self.settings.max_regions]
        t1 = time.perf_counter()
        timings["proposals"] = (t1 - t0) * 1000
        crops = [work.crop(tuple(r.box)) for r in proposed]
        vectors = self.search.embed_photos(crops)  # (n_regions, d)
        t2 = time.perf_counter()
        timings["embedding"] = (t2 - t1) * 1000
        per_k = max(k, self.settings.per_region_k)
        regions: list[LookRegion] = []
        for r, vec in zip(proposed, vectors, strict=True):
            hits, voted, share, filtered = self._region_hits(vec, per_k, filters or Filters())
            match = float(np.mean([h.score for h in hits[: self.settings.match_depth]])) if hits else 0.0
            box = _scaled(tuple(r.box), factor, width, height)
            regions.append(
                LookRegion(box, float(r.score), r.source, r.label or voted, share, filtered, hits[:k], match)
            )
        merged = self._merge(regions, k)
        timings["search"] = (time.perf_counter() - t2) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        model_id = self.search.model_id()
        return LookResponse(regions, merged, width, height, model_id, timings)

    def _merge(self, regions: list[LookRegion], k: int) -> list[tuple[SearchHit, list[int]]]:
        """Interleave the regions' lists: a product's merged score is its best `w / (rrf_k + rank)` over
        the regions that found it, w = 1 + the region's match (mean similarity of its top results), so
        regions the catalog matches closely lead and background patches (a wall, a floor, a patterned
        texture) trail. The maximum, not RRF's sum: with a sum, products that overlapping regions of one
        object all found would crowd out the other objects' products.

        Chosen over `1 + objectness`, equal weights and `match` alone in the composite and real-photo
        protocol of `benchmarks/shop_the_look.py` (BENCHMARKS.md): equal weights bury a real photo's one
        product among its background's matches; `match` alone (a sharper ratio between regions, and one
        that depends on the embedder's similarity scale) keeps the product first but loses composites'
        Recall@20."""
        rrf_k = self.search.settings.rrf_k
        best: dict[int, float] = {}
        found: dict[int, dict[int, tuple[int, SearchHit]]] = {}
        for i, region in enumerate(regions):
            w = 1.0 + max(region.match, 0.0)
            for rank, hit in enumerate(region.hits, start=1):
                if i in found.get(hit.pin_id, {}):
                    continue
                found.setdefault(hit.pin_id, {})[i] = (rank, hit)
                best[hit.pin_id] = max(best.get(hit.pin_id, 0.0), w / (rrf_k + rank))
        order = sorted(best, key=lambda p: (-best[p], -len(found[p]), p))[:k]
        out = []
        for pid in order:
            by_region = found[pid]
            sources = {
                f"region_{i}": {"rank": r, "score": round(h.score, 6)} for i, (r, h) in sorted(by_region.items())
            }
            top = max((h for _, h in by_region.values()), key=lambda h: h.score)
            out.append((SearchHit(pid, float(top.score), sources, top.pin), sorted(by_region)))
        return out


def _scaled(box: tuple[int, ...], factor: int, width: int, height: int) -> Box:
    """A box on the working copy in the photo's pixels (clipped to the photo)."""
    left, top, right, bottom = (int(v) * factor for v in box)
    return (min(left, width), min(top, height), min(right, width), min(bottom, height))
