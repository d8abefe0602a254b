"""The LambdaMART blend and its candidate features (issue 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Candidate
from moodboard.core.snapshot import write_snapshot
from moodboard.rank.blend_features import (
    ItemStats,
    RequestContext,
    build_features,
    category_preferences,
    feature_names,
)
from moodboard.rank.metrics import loo_hr_ndcg
from moodboard.rank.ranker import RANKER_KIND, Ranker, RankerParams, check_groups, current_ranker, positive_groups


def synthetic(n_groups: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups where the one relevant row is best found by combining two noisy features."""
    rng = np.random.default_rng(seed)
    rel = np.zeros((n_groups, size), np.int64)
    rel[np.arange(n_groups), rng.integers(0, size, n_groups)] = 1
    a = rel + rng.normal(0, 0.7, rel.shape)  # two independent noisy views of relevance
    b = rel + rng.normal(0, 0.7, rel.shape)
    x = np.stack([a, b, rng.normal(size=rel.shape)], axis=-1).reshape(-1, 3).astype(np.float32)
    return x, rel.ravel(), np.full(n_groups, size)


def target_ranks(scores: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """0-based rank of the relevant row in each group under `scores`."""
    s, y = scores.reshape(-1, size), labels.reshape(-1, size)
    t = s[y == 1]
    return (s > t[:, None]).sum(axis=1)


def test_lambdamart_beats_each_single_feature_and_round_trips(tmp_path: Path) -> None:
    x, y, g = synthetic(300, 20, 0)
    vx, vy, vg = synthetic(60, 20, 1)
    ranker = Ranker.fit(x, y, g, ["a", "b", "noise"], RankerParams(n_estimators=60), valid=(vx, vy, vg))
    tx, ty, _ = synthetic(200, 20, 2)
    blend = loo_hr_ndcg(target_ranks(ranker.rank(tx), ty, 20), 3)[1]
    single = max(loo_hr_ndcg(target_ranks(tx[:, j], ty, 20), 3)[1] for j in (0, 1))
    assert blend > single + 0.03  # two views together rank better than either alone
    write_snapshot(tmp_path, RANKER_KIND, ranker.save, {})
    loaded = current_ranker(tmp_path)
    assert loaded is not None and loaded.feature_names == ["a", "b", "noise"]
    np.testing.assert_allclose(loaded.rank(tx[:50]), ranker.rank(tx[:50]), rtol=1e-5)
    assert current_ranker(tmp_path / "none") is None
    with pytest.raises(InvalidInputError):
        ranker.rank(tx[:, :2])


def test_lambdarank_limits_are_checked_up_front() -> None:
    ok = np.zeros(4)
    check_groups(ok, [2, 2])
    with pytest.raises(InvalidInputError, match=r"0\.\.30"):
        check_groups([0, 31], [2])
    with pytest.raises(InvalidInputError, match="whole numbers"):
        check_groups([0, 0.5], [2])
    with pytest.raises(InvalidInputError, match="sum"):
        check_groups(ok, [3, 2])
    with pytest.raises(InvalidInputError, match="at most 10000"):
        check_groups(np.zeros(10_001), [10_001])
    x = np.arange(6, dtype=np.float32)[:, None]
    kx, _ky, kg = positive_groups(x, np.array([0, 0, 0, 1, 0, 0]), np.array([3, 3]))
    assert kg.tolist() == [3] and kx.ravel().tolist() == [3, 4, 5]  # the group with no positive is dropped
    with pytest.raises(InvalidInputError, match="no request"):
        Ranker.fit(x, np.zeros(6), [3, 3], ["f"])


def test_features_of_the_candidate_union() -> None:
    lists = {
        "walk": [Candidate(10, 0.9, "walk"), Candidate(11, 0.5, "walk")],
        "sequence": [Candidate(11, 3.0, "sequence"), Candidate(12, 2.0, "sequence")],
    }
    stats = ItemStats(
        np.array([10, 11, 12]), np.array([0.0, 9.0, 99.0]), np.array([0.0, 86_400.0, 0.0]),
        category=np.array([1, 2, -1]), price_band=np.array([0, 1, 1]),
        vectors=np.array([[1, 0], [0, 1], [0, 0]], np.float32),
    )  # fmt: skip
    ctx = RequestContext(now=2 * 86_400.0, price_band=1, category_weights={2: 0.75, 1: 0.25}, user_vector=np.ones(2))
    names = feature_names(["walk", "sequence", "popularity"])
    pins, x = build_features(lists, ["walk", "sequence", "popularity"], stats, ctx)
    f = {n: x[:, i] for i, n in enumerate(names)}
    assert pins.tolist() == [10, 11, 12]
    assert f["walk_rank"][0] == 0 and np.isnan(f["walk_rank"][2]) and f["walk_rrank"][2] == 0
    assert f["sequence_score"].tolist()[1:] == [3.0, 2.0] and np.isnan(f["popularity_score"]).all()
    assert f["n_sources"].tolist() == [1, 2, 1]
    assert f["log_popularity"][2] == pytest.approx(np.log1p(99))
    assert f["age_days"].tolist() == [2.0, 1.0, 2.0]
    assert f["price_band_match"].tolist() == [0.0, 1.0, 1.0]
    assert f["category_match"][:2].tolist() == [0.25, 0.75] and np.isnan(f["category_match"][2])
    assert f["embedding_cos"][0] == pytest.approx(2**-0.5) and np.isnan(f["embedding_cos"][2])
    bare = build_features(lists, ["walk", "sequence"], stats, RequestContext(now=0.0))[1]
    assert np.isnan(bare[:, -3:]).all()  # nothing known about price, category or the user: missing


def test_category_preferences_weight_recent_engagement() -> None:
    prefs = category_preferences([1, 1, 2], decay=0.5)
    assert prefs[2] > prefs[1] and sum(prefs.values()) == pytest.approx(1.0)
    assert category_preferences([-1]) == {}
