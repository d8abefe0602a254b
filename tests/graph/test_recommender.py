"""Related pins and feeds: communities, determinism, real-time updates, hygiene, cold start, bad input."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.records import EventType
from moodboard.core.settings import GraphSettings
from moodboard.graph.build import EventArrays, build_graph
from moodboard.graph.csr import TasteGraph
from moodboard.graph.recommender import GraphRecommender
from moodboard.rank.feed import FeedService

T0 = 1_700_000_000.0


def ids(res: Any) -> list[int]:
    return [r.pin_id for r in res.items]


def test_two_communities_never_recommend_across(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    for pin in (100, 105, 120):
        got = ids(rec.related(pin, 20))
        assert got and all(100 <= p < 200 for p in got), got
    for pin in (200, 215):
        got = ids(rec.related(pin, 20))
        assert got and all(200 <= p < 300 for p in got), got
    for user, lo in ((1, 100), (2, 100), (11, 200), (13, 200)):
        feed = rec.feed(user, 10)
        assert feed.fallback is None
        assert all(lo <= p < lo + 100 for p in ids(feed)), (user, ids(feed))


def test_results_explain_themselves(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    res = rec.related(100, 5)
    assert 100 not in ids(res)  # never a self-loop back to the query pin
    for r in res.items:
        assert r.query_pin_id == 100 and r.via is not None and r.via.startswith(("board:", "user:"))
    feed = rec.feed(1, 5)
    assert feed.query_pin_ids and all(r.query_pin_id is not None for r in feed.items)


def test_deterministic_under_a_seed(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    a = GraphRecommender(communities, graph_settings).feed(1, 10, seed=42)
    b = GraphRecommender(communities, graph_settings).feed(1, 10, seed=42)
    assert [(r.pin_id, r.score) for r in a.items] == [(r.pin_id, r.score) for r in b.items]
    c = GraphRecommender(communities, graph_settings).related(100, 10, seed=3)
    d = GraphRecommender(communities, graph_settings).related(100, 10, seed=3)
    assert [(r.pin_id, r.score) for r in c.items] == [(r.pin_id, r.score) for r in d.items]


def test_real_time_save_changes_feed_within_a_second(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    before = ids(rec.feed(1, 30))
    assert all(r.pin_id < 200 for r in rec.feed(1, 30).items if r.source != "popular")
    t = time.perf_counter()
    rec.overlay.add(1, 205, EventType.SAVE, T0 + 10_000)  # user 1 saves a dog pin
    after = rec.feed(1, 30)
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0
    assert after.query_pin_ids[0] == 205  # the fresh save leads the query pins
    assert ids(after) != before
    # the dog community is now reached by the walk itself (not by the popular fill-in)
    wide = rec.feed(1, 60)
    assert any(r.pin_id >= 200 and r.source.startswith("walk") for r in wide.items), wide.items
    assert all(
        r.pin_id < 200 for r in GraphRecommender(communities, graph_settings).feed(1, 60).items if r.source != "popular"
    )
    assert 205 not in ids(after)  # saved pins are filtered (filter_saved=True)


def test_real_time_save_creates_edges_for_new_pins_and_users(
    communities: TasteGraph, graph_settings: GraphSettings
) -> None:
    rec = GraphRecommender(communities, graph_settings)
    rec.overlay.add(77, 100, EventType.SAVE, T0)  # a brand-new user
    rec.overlay.add(77, 5000, EventType.SAVE, T0 + 1)  # a pin the snapshot never saw
    related = ids(rec.related(5000, 10))
    assert related and all(100 <= p < 200 for p in related)  # reached through user 77's new edges
    assert rec.feed(77, 5).fallback is None


def test_hidden_pins_are_never_returned(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    first = ids(rec.feed(1, 10))
    hidden = first[:3]
    for p in hidden:
        rec.overlay.add(1, p, EventType.HIDE, T0 + 100)
    for seed in range(5):
        got = ids(rec.feed(1, 30, seed=seed))
        assert not set(hidden) & set(got)
        got = ids(rec.related(first[5], 30, user_id=1, seed=seed))
        assert not set(hidden) & set(got)


def test_hidden_and_purchased_in_snapshot_are_filtered(
    make_graph: Any, rows: Any, graph_settings: GraphSettings
) -> None:
    boards, events = rows
    probe = GraphRecommender(make_graph(boards, events), graph_settings)
    top = ids(probe.feed(1, 6))
    events = [*events, (1, top[0], EventType.HIDE, T0 + 999), (1, top[1], EventType.PURCHASE, T0 + 999)]
    rec = GraphRecommender(make_graph(boards, events), graph_settings)
    for seed in range(3):
        got = ids(rec.feed(1, 40, seed=seed))
        assert top[0] not in got and top[1] not in got


def test_filter_saved_is_configurable(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    nb, _ = communities.coll_neighbors(int(communities.user_index([1])[0]))
    saved = set(communities.pin_ids[nb].tolist())
    assert not saved & set(ids(rec.related(100, 40, user_id=1)))
    keep = GraphRecommender(communities, graph_settings.model_copy(update={"filter_saved": False}))
    assert saved & set(ids(keep.related(100, 40, user_id=1)))


def test_cold_start_user_gets_popular_pins_and_is_told(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    assert rec.feed(999, 5).items == []  # the walk alone has nothing; the blender fills from popularity
    res = FeedService(lambda: rec).feed(999, 5)
    assert len(res.items) == 5 and res.fallback is not None and "cold-start" in res.fallback
    assert all(r.source == "popular" for r in res.items)


def test_cold_start_pin_falls_back_and_says_so(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    res = FeedService(lambda: rec).related(900, 5)  # in the catalog, no edges: category "dogs" (id >= 200 rule)
    assert len(res.items) == 5 and res.fallback is not None
    emb = np.eye(communities.n_pins, dtype=np.float32)
    twin = int(communities.pin_ids[5])
    emb[communities.pin_index([901])[0]] = emb[communities.pin_index([twin])[0]]
    with_vectors = GraphRecommender(communities, graph_settings, embeddings=emb)
    res = FeedService(lambda: with_vectors).related(901, 3)
    assert res.items[0].pin_id == twin and res.items[0].source == "content" and "content" in (res.fallback or "")


def test_bad_input(communities: TasteGraph, graph_settings: GraphSettings) -> None:
    rec = GraphRecommender(communities, graph_settings)
    with pytest.raises(NotFoundError):
        rec.related(123_456, 5)
    for k in (0, -1, graph_settings.max_k + 1):
        with pytest.raises(InvalidInputError):
            rec.related(100, k)
        with pytest.raises(InvalidInputError):
            rec.feed(1, k)
    empty = GraphRecommender(build_graph(EventArrays.empty()), graph_settings)
    with pytest.raises(ConflictError):
        empty.feed(1, 5)
    with pytest.raises(InvalidInputError):
        GraphRecommender(communities, graph_settings, embeddings=np.zeros((3, 4), np.float32))


def test_feed_is_biased_toward_the_users_features(make_events: Any, graph_settings: GraphSettings) -> None:
    from moodboard.graph.build import BoardPinArrays, PinTable

    # one mixed board (pins 0-9 category a, 10-19 category b); the user saved only category-a pins
    ids = np.arange(20)
    pins = PinTable(ids, (ids >= 10).astype(np.int16)[:, None], {"category": ["a", "b"]})
    ev = make_events([(1, p, EventType.SAVE, T0) for p in (0, 1)])
    g = build_graph(ev, BoardPinArrays(np.ones(20, np.int64), ids), pins)

    def share_b(bias: float) -> float:
        s = graph_settings.model_copy(update={"feature_bias": bias, "profile_blend": 0.0})
        items = GraphRecommender(g, s).feed(1, 10).items
        return sum(r.score for r in items if r.pin_id >= 10) / sum(r.score for r in items)

    assert share_b(0.0) > 0.4 and share_b(0.9) < 0.2


def test_recent_actions_lead_the_feed_even_within_one_session(rows: Any, make_graph: Any) -> None:
    # user 1 saved 8 cat pins, then (one minute later, same session) 2 dog pins: clock-time decay cannot
    # tell them apart, counting actions can
    boards, events = rows
    events = [*events, (1, 205, EventType.SAVE, T0 + 600), (1, 217, EventType.SAVE, T0 + 660)]
    g = make_graph(boards, events)
    settings = GraphSettings(walk_steps=6000, n_p=10**6, n_v=3, max_k=100, seed=7, profile_blend=0.0)

    def dog_share(half_life: float) -> float:
        feed = GraphRecommender(g, settings.model_copy(update={"recency_half_life": half_life})).feed(1, 20)
        return float(np.mean([r.pin_id >= 200 for r in feed.items if r.source.startswith("walk")]))

    assert dog_share(1.0) > 0.5 > dog_share(1e9)


def test_taste_profile_ranks_the_recent_interest_first(rows: Any, make_graph: Any) -> None:
    boards, events = rows
    events = [*events, (1, 205, EventType.SAVE, T0 + 600), (1, 217, EventType.SAVE, T0 + 660)]
    g = make_graph(boards, events)
    rec = GraphRecommender(g, GraphSettings(recency_half_life=1.0, seed=7))
    hist = rec._history(1)
    top = rec.profile_of(hist.pins, hist.weights).interests[0]
    assert all(int(g.pin_ids[p]) >= 200 for p in top.members)  # the two dog saves, 8 older cat saves


def _looks(g: TasteGraph, seed: int = 0) -> np.ndarray:
    """Content vectors: cats, dogs and the edge-less pins 900-902 look alike within each group."""
    rng = np.random.default_rng(seed)
    group = np.select([g.pin_ids < 200, g.pin_ids < 900], [0, 1], 2)
    v = np.eye(3, 8, dtype=np.float32)[group] + 0.05 * rng.standard_normal((g.n_pins, 8)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("exact_below", [100_000, 0])  # exact content scan, and the IVF index of big catalogs
def test_feed_shows_every_sampled_interest_even_one_the_graph_cannot_reach(
    rows: Any, make_graph: Any, exact_below: int
) -> None:
    # user 1 saved 8 cat pins (graph-connected) and two pins no one else touched: the walk only reaches cats,
    # the content-based interest candidates bring the third look-alike (902) into the feed
    boards, events = rows
    events = [*events, (1, 900, EventType.SAVE, T0 + 600), (1, 901, EventType.SAVE, T0 + 660)]
    g = make_graph(boards, events)
    settings = GraphSettings(
        walk_steps=4000, n_p=10**6, n_v=3, max_k=100, seed=7, n_interests=3, content_exact_below=exact_below
    )
    feed = GraphRecommender(g, settings, embeddings=_looks(g)).feed(1, 10)
    got = {r.pin_id: r for r in feed.items}
    assert 902 in got and got[902].source == "profile" and got[902].via == "looks like this taste interest"
    assert sum(p < 200 for p in got) >= 5  # the graph's interest keeps most slots (it weighs more)
    plain = GraphRecommender(g, settings).feed(1, 10)  # without content vectors: graph neighbourhoods only
    assert 902 not in {r.pin_id for r in plain.items}
