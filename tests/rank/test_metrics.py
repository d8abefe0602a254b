"""Tests of the pure top-K metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.rank.metrics import (
    hit_rate_at_k,
    loo_hr_ndcg,
    ndcg_at_k,
    precision_at_k,
    rank_of_target,
    recall_at_k,
)

RANKED = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, -1, -1]])
RELEVANT = [{2, 4}, {42}, {9}]


def test_hit_rate() -> None:
    assert hit_rate_at_k(RANKED, RELEVANT, 1) == pytest.approx(1 / 3)
    assert hit_rate_at_k(RANKED, RELEVANT, 2) == pytest.approx(2 / 3)


def test_recall_and_precision() -> None:
    assert recall_at_k(RANKED, RELEVANT, 4) == pytest.approx((1.0 + 0.0 + 1.0) / 3)
    assert recall_at_k(RANKED, RELEVANT, 2) == pytest.approx((0.5 + 0 + 1.0) / 3)
    assert precision_at_k(RANKED, RELEVANT, 2) == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_ndcg_by_hand() -> None:
    # user 0: hits at positions 2 and 4 -> dcg = 1/log2(3) + 1/log2(5); idcg = 1 + 1/log2(3)
    u0 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RANKED, RELEVANT, 4) == pytest.approx((u0 + 0 + 1.0) / 3)


def test_perfect_ranking_scores_one() -> None:
    assert ndcg_at_k([[3, 1, 2]], [{3, 1}], 3) == pytest.approx(1.0)


def test_bad_k_and_shapes() -> None:
    with pytest.raises(InvalidInputError):
        hit_rate_at_k(RANKED, RELEVANT, 0)
    with pytest.raises(InvalidInputError):
        ndcg_at_k(RANKED, RELEVANT[:2], 3)


def test_rank_of_target_is_pessimistic_on_ties() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.2], [0.1, 0.5, 0.9]])
    assert rank_of_target(scores).tolist() == [0, 2, 2]


def test_loo_hr_ndcg() -> None:
    hr, ndcg = loo_hr_ndcg([0, 1, 10], k=10)
    assert hr == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1.0 + 1 / math.log2(3)) / 3)
