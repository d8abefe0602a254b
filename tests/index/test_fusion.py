"""Reciprocal rank fusion: known orders, weights, sources kept per hit."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.index.fusion import rrf


def _r(*ids: int) -> tuple[np.ndarray, np.ndarray]:
    return np.array(ids, dtype=np.int64), np.linspace(1, 0, len(ids)).astype(np.float32)


def test_item_found_by_both_sources_wins() -> None:
    fused = rrf({"vector": _r(1, 2, 3), "lexical": _r(3, 4)}, k=60)
    assert fused[0].pin_id == 3
    assert set(fused[0].sources) == {"vector", "lexical"}
    assert fused[0].sources["vector"].rank == 3 and fused[0].sources["lexical"].rank == 1
    assert fused[0].score == pytest.approx(1 / 63 + 1 / 61)


def test_weights_change_the_order() -> None:
    rankings = {"vector": _r(1, 2), "lexical": _r(2, 1)}
    assert rrf(rankings, {"vector": 2.0, "lexical": 1.0})[0].pin_id == 1
    assert rrf(rankings, {"vector": 1.0, "lexical": 2.0})[0].pin_id == 2


def test_padding_and_duplicates_are_skipped() -> None:
    fused = rrf({"vector": (np.array([5, -1, 5, 6]), np.array([0.9, 0.0, 0.8, 0.1]))})
    assert [h.pin_id for h in fused] == [5, 6]
    assert fused[1].sources["vector"].rank == 2


def test_bad_parameters() -> None:
    with pytest.raises(InvalidInputError):
        rrf({"vector": _r(1)}, k=0)
    with pytest.raises(InvalidInputError):
        rrf({"vector": _r(1)}, {"vector": -1.0})
