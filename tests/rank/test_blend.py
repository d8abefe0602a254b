"""The one blender (issue 17 step 1, issue 14): ranker when a snapshot exists, fallback weighting otherwise,
hides never served, the per-category cap holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.records import Candidate
from moodboard.rank.blend import BlendConfig, Blender, ranker_sources
from moodboard.rank.blend_features import ItemStats, RequestContext, build_features, feature_names
from moodboard.rank.diversity import cap_per_category
from moodboard.rank.ranker import Ranker, RankerParams


def cands(source: str, pins: Sequence[int]) -> list[Candidate]:
    """A best-first list of `source` with descending scores."""
    return [Candidate(p, float(len(pins) - i), source, rank=i) for i, p in enumerate(pins)]


def features_for(pins: Sequence[int], popularity: Mapping[int, float]) -> object:
    """A feature builder over fixed item stats (popularity known per pin)."""
    ids = np.asarray(sorted(pins), np.int64)
    stats = ItemStats(ids, np.array([popularity.get(int(p), 0.0) for p in ids]), np.full(len(ids), np.nan))

    def build(lists: Mapping[str, Sequence[Candidate]], sources: Sequence[str]) -> tuple[IntArray, FloatArray]:
        return build_features(lists, sources, stats, RequestContext(now=0.0))

    return build


def popularity_ranker() -> Ranker:
    """A LambdaMART model trained so that the most popular candidate is the engaged one."""
    rng = np.random.default_rng(0)
    names = feature_names(["walk", "popularity"])
    xs, ys, gs = [], [], []
    for _ in range(60):
        n = 8
        x = np.full((n, len(names)), np.nan, np.float32)
        x[:, 0] = rng.random(n)  # walk score: noise
        x[:, 1] = np.arange(n)
        x[:, 2] = 1.0 / (np.arange(n) + 1)
        pop = rng.random(n) * 100
        x[:, 6 + 1] = np.log1p(pop)  # log_popularity
        x[:, 6] = 1.0
        xs.append(x)
        ys.append((pop == pop.max()).astype(np.int64))
        gs.append(n)
    params = RankerParams(n_estimators=40, min_child_samples=2)
    return Ranker.fit(np.concatenate(xs), np.concatenate(ys), np.array(gs), names, params)


def test_fallback_keeps_one_primary_source_order_and_fills_after_it() -> None:
    blended = Blender(BlendConfig(max_category_share=None)).blend(
        {"walk": cands("walk", [5, 3, 9]), "popularity": cands("popularity", [1, 3, 2, 7])}, 5
    )
    assert [c.pin_id for c in blended.items] == [5, 3, 9, 1, 2]
    assert blended.ranked_by == "fallback" and blended.per_source == {"walk": 3, "popularity": 2}
    assert [c.source for c in blended.items] == ["walk"] * 3 + ["popularity"] * 2


def test_fallback_fuses_primary_sources_by_weighted_reciprocal_rank() -> None:
    lists = {"walk": cands("walk", [1, 2, 3]), "sequence": cands("sequence", [3, 4, 1])}
    got = [c.pin_id for c in Blender(BlendConfig(max_category_share=None)).blend(lists, 4).items]
    assert got == [1, 3, 2, 4]  # 1 and 3 proposed by both; 1 has the better ranks
    heavy = BlendConfig(weights={"walk": 1.0, "sequence": 3.0}, max_category_share=None)
    assert Blender(heavy).blend(lists, 4).items[0].pin_id == 3


def test_ranker_is_used_when_given_and_reorders_by_what_it_learned() -> None:
    ranker = popularity_ranker()
    assert ranker_sources(ranker) == ["walk", "popularity"]
    walk = cands("walk", [10, 11, 12, 13])
    popularity = {10: 1.0, 11: 2.0, 12: 3.0, 13: 500.0}
    lists = {"walk": walk, "popularity": cands("popularity", [13])}
    build = features_for([10, 11, 12, 13], popularity)
    blender = Blender(BlendConfig(max_category_share=None))
    ranked = blender.blend(lists, 4, ranker=ranker, features=build)  # type: ignore[arg-type]
    assert ranked.ranked_by == "ranker" and ranked.items[0].pin_id == 13
    plain = blender.blend(lists, 4)
    assert plain.ranked_by == "fallback" and [c.pin_id for c in plain.items] == [10, 11, 12, 13]


def test_hidden_pins_are_never_served_by_any_source_or_path() -> None:
    lists = {
        "walk": cands("walk", [1, 2, 3]),
        "sequence": cands("sequence", [2, 4]),
        "popularity": cands("popularity", [2, 5, 6]),
    }
    hidden = {2, 6}
    blender = Blender()
    for kwargs in ({}, {"ranker": popularity_ranker(), "features": features_for(range(1, 7), {})}):
        page = blender.blend(lists, 10, exclude=hidden, **kwargs)  # type: ignore[arg-type]
        assert not hidden & {c.pin_id for c in page.items}
        assert {c.pin_id for c in page.items} == {1, 3, 4, 5}


def test_category_cap_holds_when_others_exist_and_backfills_when_not() -> None:
    cat = {p: (0 if p < 10 else 1) for p in range(20)}
    lists = {"walk": cands("walk", [0, 1, 2, 3, 4, 10, 11, 12])}
    blender = Blender(BlendConfig(max_category_share=0.5))
    page = blender.blend(lists, 4, categories=lambda pins: [cat[p] for p in pins])
    counts = Counter(cat[c.pin_id] for c in page.items)
    assert len(page.items) == 4 and max(counts.values()) <= 2
    assert [c.pin_id for c in page.items] == [0, 1, 10, 11]  # order within the cap follows the ranking
    only_one = blender.blend({"walk": cands("walk", [0, 1, 2, 3])}, 4, categories=lambda pins: [0] * len(pins))
    assert len(only_one.items) == 4  # a one-category pool still fills the page
    assert cap_per_category([0, 0, -1, -1, -1], 4, 0.25) == [0, 2, 3, 4]  # unknown category is never capped


def test_search_source_turns_hits_into_ranked_candidates_and_needs_a_query() -> None:
    from types import SimpleNamespace

    from moodboard.rank.search import SearchHit, SearchRequest
    from moodboard.rank.sources import CandidateSource, SearchSource, SourceContext

    asked: list[SearchRequest] = []

    def search(req: SearchRequest) -> SimpleNamespace:
        asked.append(req)
        return SimpleNamespace(hits=[SearchHit(7, 0.9, {"vector": {}}), SearchHit(3, 0.4, {"lexical": {}})])

    source: CandidateSource = SearchSource(SimpleNamespace(search=search))  # type: ignore[arg-type]
    assert source.candidates(SourceContext(5)) == [] and not asked
    got = source.candidates(SourceContext(5, query=SearchRequest(text="red shoes")))
    assert [(c.pin_id, c.rank, c.source) for c in got] == [(7, 0, "search"), (3, 1, "search")]
    assert asked[0].k == 5 and got[0].reasons == ("vector",)
