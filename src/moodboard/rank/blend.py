"""The one blender: merge candidate lists, drop what must never be served, rank, diversify.

Every served list (home feed, related pins) goes through `Blender.blend`:

1. each source's list is deduplicated and cleaned of excluded pins (hidden, purchased, the pin asked
   about, what the user just engaged with), so a hide is never served whatever source proposed the pin;
2. with a ranker snapshot (`moodboard train ranker`), the union of all lists is scored by LambdaMART on
   the `rank.blend_features` features; without one, the documented fallback weighting applies:
   *primary* sources (walk, sequence, search) are fused by weighted reciprocal rank,
   score = sum over sources of weight / (rrf_k + rank) (Cormack et al., SIGIR 2009; one primary source
   keeps its own order), and *fill* sources (content, category, popularity) only fill the page after
   them, in that order;
3. a per-category cap (`rank.diversity`) keeps one category from taking more than `max_category_share`
   of the ranked pins on the page (skipped pins come back when too few others exist); in the fallback a
   fill pin never displaces a ranked one (the cap reorders the primary pool only), with a ranker the cap
   runs over the whole ranked union.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.records import Candidate
from moodboard.rank.blend_features import ITEM_FEATURES
from moodboard.rank.diversity import cap_per_category
from moodboard.rank.ranker import Ranker

FALLBACK_WEIGHTS: Mapping[str, float] = {"walk": 1.0, "sequence": 1.0, "search": 1.0}
FILL_SOURCES: tuple[str, ...] = ("content", "category", "popularity")

FeatureFn = Callable[[Mapping[str, Sequence[Candidate]], Sequence[str]], tuple[IntArray, FloatArray]]
CategoryFn = Callable[[list[int]], Sequence[int]]


@dataclass(frozen=True)
class BlendConfig:
    """Fallback weights of the primary sources, the fill order, the RRF constant and the category cap."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(FALLBACK_WEIGHTS))
    fill: tuple[str, ...] = FILL_SOURCES
    rrf_k: int = 60
    max_category_share: float | None = 0.5


@dataclass(frozen=True)
class Blended:
    """The page: candidates best first (score = blended score), how it was ranked, pins per source."""

    items: list[Candidate]
    ranked_by: str  # "ranker" or "fallback"
    per_source: dict[str, int]


def ranker_sources(ranker: Ranker) -> list[str]:
    """The source names a ranker was trained on, from its feature names ("<source>_score", ...)."""
    names = ranker.feature_names[: len(ranker.feature_names) - len(ITEM_FEATURES)]
    return [n.removesuffix("_score") for n in names if n.endswith("_score")]


def clean_lists(lists: Mapping[str, Sequence[Candidate]], exclude: Set[int]) -> dict[str, list[Candidate]]:
    """Each list without excluded pins and without repeats (first, best-ranked mention kept), re-ranked."""
    out: dict[str, list[Candidate]] = {}
    for name, cands in lists.items():
        seen: set[int] = set()
        kept: list[Candidate] = []
        for c in cands:
            if c.pin_id in exclude or c.pin_id in seen:
                continue
            seen.add(c.pin_id)
            kept.append(c if c.rank == len(kept) else replace(c, rank=len(kept)))  # copy only what moved
        out[name] = kept
    return out


class Blender:
    """Merges candidate lists into one diversified page (see the module docstring for the rules)."""

    def __init__(self, config: BlendConfig | None = None) -> None:
        """Use `config` (defaults: equal primary weights, rrf_k 60, at most half the page per category)."""
        self.config = config or BlendConfig()

    def blend(
        self,
        lists: Mapping[str, Sequence[Candidate]],
        k: int,
        *,
        exclude: Set[int] = frozenset(),
        ranker: Ranker | None = None,
        features: FeatureFn | None = None,
        categories: CategoryFn | None = None,
    ) -> Blended:
        """The best k candidates of all lists; `features` builds the ranker's inputs, `categories` codes pins."""
        clean = clean_lists(lists, exclude)
        fill: list[Candidate] = []
        if ranker is not None and features is not None and any(clean.values()):
            (pool, scores), ranked_by = self._by_ranker(clean, ranker, features), "ranker"
        else:
            (pool, scores, fill), ranked_by = self._by_fallback(clean), "fallback"
        pins = [c.pin_id for c in pool]
        cats = categories(pins) if categories is not None and pool else [-1] * len(pool)
        # records with the blended score are made for the page only (a copy per candidate was a quarter
        # of a feed's time)
        page = [replace(pool[i], score=scores[i]) for i in cap_per_category(cats, k, self.config.max_category_share)]
        page += [replace(c, score=0.0) for c in fill[: k - len(page)]]  # fill never displaces a ranked pin
        per_source: dict[str, int] = {}
        for c in page:
            per_source[c.source] = per_source.get(c.source, 0) + 1
        return Blended(page, ranked_by, per_source)

    def _first_mentions(self, clean: Mapping[str, list[Candidate]]) -> dict[int, Candidate]:
        """Each pin's candidate record from the first list (in mapping order) that proposed it."""
        first: dict[int, Candidate] = {}
        for cands in clean.values():
            for c in cands:
                first.setdefault(c.pin_id, c)
        return first

    def _by_ranker(
        self, clean: Mapping[str, list[Candidate]], ranker: Ranker, features: FeatureFn
    ) -> tuple[list[Candidate], list[float]]:
        """The union best first by the ranker's score: first-mention records and their scores."""
        pins, x = features(clean, ranker_sources(ranker))
        scores = ranker.rank(x)
        first = self._first_mentions(clean)
        order = np.argsort(-scores, kind="stable").tolist()
        return [first[int(pins[i])] for i in order], [float(scores[i]) for i in order]

    def _by_fallback(
        self, clean: Mapping[str, list[Candidate]]
    ) -> tuple[list[Candidate], list[float], list[Candidate]]:
        """Primary pins best first by weighted RRF (records and scores), then the fill candidates in order."""
        cfg = self.config
        primary = {n: c for n, c in clean.items() if n in cfg.weights and n not in cfg.fill}
        fused: dict[int, float] = {}
        first = self._first_mentions(primary)
        for name, cands in primary.items():
            w = cfg.weights[name]
            for c in cands:
                fused[c.pin_id] = fused.get(c.pin_id, 0.0) + w / (cfg.rrf_k + c.rank)
        order = list(first)  # first-proposed order breaks ties (sorted() is stable)
        ranked = sorted(order, key=lambda p: -fused[p])
        pool, scores = [first[p] for p in ranked], [fused[p] for p in ranked]
        taken = set(fused)
        fill: list[Candidate] = []
        fill_names = [n for n in cfg.fill if n in clean] + [n for n in clean if n not in primary and n not in cfg.fill]
        for name in fill_names:
            for c in clean[name]:
                if c.pin_id not in taken:
                    taken.add(c.pin_id)
                    fill.append(c)
        return pool, scores, fill
