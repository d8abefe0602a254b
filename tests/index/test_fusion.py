"""Reciprocal rank fusion: known orders, weights, sources kept per hit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodboard.core.errors import InvalidInputError
from moodboard.index.fusion import fuse, rrf


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


def _reference_rrf(rankings, weights, k):  # type: ignore[no-untyped-def]
    """The plain-Python fusion the numpy one replaced (per-item dicts), kept as the reference."""
    fused: dict[int, float] = {}
    hits: dict[int, dict[str, tuple[int, float]]] = {}
    for source, (ids, scores) in rankings.items():
        w = float(weights.get(source, 1.0))
        rank = 0
        for pin_id, score in zip(ids.tolist(), scores.tolist(), strict=True):
            if pin_id < 0 or (pin_id in hits and source in hits[pin_id]):
                continue
            rank += 1
            fused[pin_id] = fused.get(pin_id, 0.0) + w / (k + rank)
            hits.setdefault(pin_id, {})[source] = (rank, float(score))
    order = sorted(fused, key=lambda p: (-fused[p], min(r for r, _ in hits[p].values()), p))
    return [(p, fused[p], hits[p]) for p in order]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-1, 40), max_size=60),
    st.lists(st.integers(-1, 40), max_size=60),
    st.floats(0, 3),
    st.integers(1, 100),
)
def test_numpy_fusion_equals_the_reference(vec: list[int], lex: list[int], w: float, k: int) -> None:
    rankings = {
        "vector": (np.array(vec, dtype=np.int64), np.linspace(1, 0, len(vec))),
        "lexical": (np.array(lex, dtype=np.int64), np.linspace(9, 1, len(lex))),
    }
    got = rrf(rankings, {"vector": w}, k=k)
    want = _reference_rrf(rankings, {"vector": w}, k)
    assert [h.pin_id for h in got] == [p for p, _, _ in want]
    for h, (_, score, sources) in zip(got, want, strict=True):
        assert h.score == pytest.approx(score, rel=1e-12)
        assert {s: x.rank for s, x in h.sources.items()} == {s: r for s, (r, _) in sources.items()}
        assert all(h.sources[s].score == pytest.approx(v) for s, (_, v) in sources.items())
    assert fuse(rankings, {"vector": w}, k).hits(3) == got[:3]
