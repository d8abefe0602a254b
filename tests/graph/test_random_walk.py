"""Pixie walk kernel: determinism, budgets, early stopping, boosting, weights and feature bias."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.graph.build import BoardPinArrays, EventArrays, PinTable, build_graph
from moodboard.graph.csr import TasteGraph
from moodboard.graph.random_walk import FeatureBias, PixieWalker, step_budgets

ONE = np.ones(1, np.float32)


def _walk(w: PixieWalker, pins: list[int], seed: int = 1, **kw: object) -> object:
    args = {"steps": 3000, "restart": 0.5, "n_p": 1000, "n_v": 3, "seed": seed, **kw}
    return w.walk(w.graph.pin_index(pins), np.ones(len(pins), np.float32), **args)  # type: ignore[arg-type]


def test_same_seed_same_result_other_seed_differs(communities: TasteGraph) -> None:
    w = PixieWalker(communities)
    a, b, c = _walk(w, [100]), _walk(w, [100]), _walk(w, [100], seed=2)
    assert np.array_equal(a.pins, b.pins) and np.array_equal(a.scores, b.scores)  # type: ignore[attr-defined]
    assert not np.array_equal(a.scores, c.scores)  # type: ignore[attr-defined]


def test_walk_stays_in_its_community(communities: TasteGraph) -> None:
    w = PixieWalker(communities)
    res = _walk(w, [100, 101, 102])
    assert (communities.pin_ids[res.pins] < 200).all()  # type: ignore[attr-defined]


def test_early_stopping_saves_steps(communities: TasteGraph) -> None:
    w = PixieWalker(communities)
    full = _walk(w, [100], n_p=10_000)
    early = _walk(w, [100], n_p=5, n_v=2)
    assert full.steps == 3000  # type: ignore[attr-defined]
    assert early.steps < full.steps / 5  # type: ignore[attr-defined]


def test_budget_grows_with_degree() -> None:
    b = step_budgets(np.array([1, 10, 100]), np.ones(3), 10_000, max_degree=100)
    assert b[0] < b[1] < b[2] and abs(int(b.sum()) - 10_000) <= 3
    assert step_budgets(np.array([0, 5]), np.ones(2), 100, 5)[0] == 0


def test_multi_hit_boosting_prefers_pins_reached_from_several_queries() -> None:
    # pin 50 sits on a board with query 1 and on a board with query 2; 51 and 52 each on one of them
    b = np.array([1, 1, 1, 2, 2, 2])
    p = np.array([1, 50, 51, 2, 50, 52])
    g = build_graph(EventArrays.empty(), BoardPinArrays(b, p))
    w = PixieWalker(g)
    res = w.walk(g.pin_index([1, 2]), np.ones(2, np.float32), steps=4000, restart=0.5, n_p=99, n_v=2, seed=3)
    score = dict(zip(g.pin_ids[res.pins].tolist(), res.scores.tolist(), strict=True))
    assert score[50] > 1.5 * max(score[51], score[52])


def test_edge_weights_steer_the_walk() -> None:
    from moodboard.core.records import EventType
    from moodboard.graph.weights import EVENT_CODES

    # user 1 saved pins 1 and 2 and only viewed pin 3: from pin 1, pin 2 should be visited far more
    ev = EventArrays(
        np.array([1, 1, 1]), np.array([1, 2, 3]),
        np.array([EVENT_CODES[EventType.SAVE]] * 2 + [EVENT_CODES[EventType.VIEW]], np.uint8),
        np.full(3, 1.0e9),
    )  # fmt: skip
    g = build_graph(ev)
    res = PixieWalker(g).walk(g.pin_index([1]), ONE, steps=5000, restart=0.3, n_p=99, n_v=99, seed=0)
    score = dict(zip(g.pin_ids[res.pins].tolist(), res.scores.tolist(), strict=True))
    assert score[2] > 3 * score[3]


def test_feature_bias_prefers_matching_pins() -> None:
    # one board with 10 category-0 pins and 10 category-1 pins
    ids = np.arange(20)
    g = build_graph(
        EventArrays.empty(), BoardPinArrays(np.ones(20, np.int64), ids),
        PinTable(ids, (ids >= 10).astype(np.int16)[:, None], {"category": ["a", "b"]}),
    )  # fmt: skip
    w = PixieWalker(g)
    bias = FeatureBias(np.array([[0, 1]], np.uint8), np.array([1], np.uint8), strength=0.9)
    kw = {"steps": 4000, "restart": 0.5, "n_p": 999, "n_v": 999, "seed": 5}
    plain = w.walk(g.pin_index([0]), ONE, **kw)  # type: ignore[arg-type]
    biased = w.walk(g.pin_index([0]), ONE, bias=bias, **kw)  # type: ignore[arg-type]

    def share_b(r: object) -> float:
        v = dict(zip(r.pins.tolist(), r.scores.tolist(), strict=True))  # type: ignore[attr-defined]
        return sum(s for p, s in v.items() if p >= 10) / sum(v.values())

    assert share_b(plain) < 0.6 and share_b(biased) > 0.8


def test_bad_walk_arguments(communities: TasteGraph) -> None:
    w = PixieWalker(communities)
    with pytest.raises(InvalidInputError):
        w.walk(np.zeros(0, np.int32), np.zeros(0, np.float32), steps=10, restart=0.5, n_p=1, n_v=1, seed=0)
    with pytest.raises(InvalidInputError):
        w.walk(np.array([10_000], np.int32), ONE, steps=10, restart=0.5, n_p=1, n_v=1, seed=0)
    with pytest.raises(InvalidInputError):
        w.walk(np.array([0], np.int32), ONE, steps=10, restart=1.0, n_p=1, n_v=1, seed=0)


def test_skipping_the_users_own_node_does_not_end_the_walk(communities: TasteGraph) -> None:
    # Regression: drawing the skipped (requesting user's) node twice used to end the query's whole budget.
    w = PixieWalker(communities)
    user = int(communities.user_index([1])[0])
    q = communities.coll_neighbors(user)[0][:1]  # a pin user 1 saved: its collections are boards + user 1
    res = w.walk(q, ONE, steps=2000, restart=0.5, n_p=10**6, n_v=3, seed=0, skip_coll=user)
    assert res.steps == 2000 and len(res.pins) > 5
    visited_via = set(res.via.tolist())
    assert user not in visited_via


def test_interleaved_lanes_estimate_the_same_walk_as_one_lane(communities: TasteGraph) -> None:
    # lanes only reorder random draws: visit frequencies agree, and the budget is never overrun
    w = PixieWalker(communities)
    one = _walk(w, [100], steps=40_000, n_p=10**6, lanes=1)
    many = _walk(w, [100], steps=40_000, n_p=10**6, lanes=16)
    assert one.steps == many.steps == 40_000  # type: ignore[attr-defined]
    f1 = dict(zip(one.pins.tolist(), (one.scores / one.scores.sum()).tolist(), strict=True))  # type: ignore[attr-defined]
    f16 = dict(zip(many.pins.tolist(), (many.scores / many.scores.sum()).tolist(), strict=True))  # type: ignore[attr-defined]
    assert set(f1) == set(f16)
    assert max(abs(f1[p] - f16[p]) for p in f1) < 0.01


@pytest.mark.parametrize("lanes", [1, 3, 16, 64])
def test_step_budget_is_exact_for_any_lane_count(communities: TasteGraph, lanes: int) -> None:
    w = PixieWalker(communities)
    for steps in (1, 7, 100, 2_501):
        res = _walk(w, [100], steps=steps, n_p=10**6, lanes=lanes)
        assert res.steps == steps  # type: ignore[attr-defined]
        assert len(res.pins) <= steps  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError):
        _walk(w, [100], lanes=0)
