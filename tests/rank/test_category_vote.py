"""Category-vote re-rank: the categories of the top results vote, and their items move up."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.rank.category_vote import category_vote_rerank, category_vote_scores


def test_majority_category_moves_up() -> None:
    # best first: two jeans, one stray shirt, then more jeans just below it
    ids = np.array([10, 11, 12, 13, 14])
    scores = np.array([0.90, 0.85, 0.84, 0.83, 0.50], dtype=np.float32)
    cats = np.array([0, 0, 1, 0, 1])
    # votes: jeans 3/4, shirts 1/4 -> jeans get +0.15, shirts +0.05
    np.testing.assert_allclose(category_vote_scores(scores, cats, 4, 0.2), [1.05, 1.0, 0.89, 0.98, 0.55], atol=1e-6)
    new_ids, new_scores = category_vote_rerank(ids, scores, cats, depth=4, weight=0.2)
    assert new_ids.tolist() == [10, 11, 13, 12, 14]
    np.testing.assert_allclose(new_scores, [0.90, 0.85, 0.83, 0.84, 0.50], atol=1e-6)  # still similarities


def test_no_op_cases() -> None:
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    np.testing.assert_array_equal(category_vote_scores(scores, np.array([0, 1, 0]), 3, 0.0), scores)
    np.testing.assert_array_equal(category_vote_scores(scores, np.array([-1, -1, -1]), 3, 0.5), scores)
    assert category_vote_scores(np.zeros(0, np.float32), np.zeros(0, np.int64), 3, 0.5).shape == (0,)
    # unknown categories never get a bonus, even when known ones do
    out = category_vote_scores(scores, np.array([0, -1, 0]), 3, 0.3)
    np.testing.assert_allclose(out, [1.1, 0.8, 0.9], atol=1e-6)


def test_a_unanimous_neighbourhood_keeps_its_order() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    ids, _ = category_vote_rerank(np.arange(4), scores, np.array([2, 2, 2, 2]), depth=2, weight=1.0)
    assert ids.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(("depth", "weight", "cats"), [(0, 0.1, [0, 0]), (2, -1.0, [0, 0]), (2, 0.1, [0])])
def test_bad_arguments(depth: int, weight: float, cats: list[int]) -> None:
    with pytest.raises(InvalidInputError):
        category_vote_scores(np.array([0.5, 0.4], dtype=np.float32), np.array(cats), depth, weight)
