"""Contract tests run on every `VectorIndex` backend (`conftest.CASES`): tiny data with obvious answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError, ModelMismatchError
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.vector_index import (
    VectorIndex,
    backend_names,
    load_vector_index,
    make_index,
    save_vector_index,
)
from tests.index.conftest import CASES

DIM = 8


def test_every_registered_backend_is_covered() -> None:
    assert set(backend_names()) <= {backend for backend, _ in CASES.values()}


def _axes(n: int) -> np.ndarray:
    """Unit vectors along the axes, plus slightly tilted copies: item i is nearest to axis i % DIM."""
    rng = np.random.default_rng(0)
    base = np.eye(DIM, dtype=np.float32)[np.arange(n) % DIM]
    x = base + 0.05 * rng.random((n, DIM)).astype(np.float32) * (np.arange(n)[:, None] // DIM)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _attrs(n: int) -> list[ItemAttrs]:
    colours = ["red", "blue"]
    return [
        ItemAttrs(
            price=float(10 * i),
            category="shoes" if i % 3 == 0 else "bags",
            color=colours[i % 2],
            availability="in_stock" if i % 4 else "out_of_stock",
            merchant=f"m{i % 5}",
        )
        for i in range(n)
    ]


@pytest.fixture
def index(case: tuple[str, IndexSettings]) -> VectorIndex:
    backend, settings = case
    idx = make_index(settings, DIM, "model-a", backend=backend)
    n = 4 * DIM
    idx.add(np.arange(100, 100 + n), _axes(n), _attrs(n))
    return idx


def test_obvious_nearest_neighbour(index: VectorIndex) -> None:
    q = np.eye(DIM, dtype=np.float32)
    ids, scores = index.search(q, 1)
    assert ids[:, 0].tolist() == [100 + i for i in range(DIM)]  # the untilted copy is exactly the axis
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_scores_sorted_and_k_padding(index: VectorIndex) -> None:
    ids, scores = index.search(np.eye(DIM, dtype=np.float32)[:1], 100)
    live = ids[0] >= 0
    assert live.sum() == len(index) == 4 * DIM
    assert (np.diff(scores[0][live]) <= 1e-6).all()
    assert np.isneginf(scores[0][~live]).all()


def test_batch_equals_single(index: VectorIndex) -> None:
    q = _axes(12)[::-1].copy()
    ids, scores = index.search(q, 5)
    for i in range(q.shape[0]):
        one_ids, one_scores = index.search(q[i : i + 1], 5)
        assert one_ids[0].tolist() == ids[i].tolist()
        np.testing.assert_allclose(one_scores[0], scores[i], rtol=1e-5)


@pytest.mark.parametrize(
    ("raw", "check"),
    [
        ({"color": "blue"}, lambda i: (i - 100) % 2 == 1),
        ({"category": ["SHOES"]}, lambda i: (i - 100) % 3 == 0),
        ({"price_min": 50, "price_max": 120}, lambda i: 50 <= 10 * (i - 100) <= 120),
        ({"availability": "out_of_stock"}, lambda i: (i - 100) % 4 == 0),
        ({"merchant": ["m1", "m2"], "color": "red"}, lambda i: (i - 100) % 5 in (1, 2) and (i - 100) % 2 == 0),
    ],
)
def test_filters_return_all_and_only_matching(index: VectorIndex, raw: dict, check) -> None:
    flt = parse_filter(raw)
    expected = {100 + i for i in range(4 * DIM) if check(100 + i)}
    ids, _ = index.search(np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM), 4 * DIM, flt)
    got = {int(i) for i in ids[0] if i >= 0}
    assert got == expected
    assert index.count_allowed(flt) == len(expected)


def test_filter_matching_nothing_returns_empty(index: VectorIndex) -> None:
    ids, _ = index.search(np.eye(DIM, dtype=np.float32)[:1], 5, parse_filter({"color": "green"}))
    assert (ids == -1).all()


def test_delete_and_update(index: VectorIndex) -> None:
    axis0 = np.eye(DIM, dtype=np.float32)[:1]
    assert index.remove(np.array([100, 99999])) == 1
    ids, _ = index.search(axis0, 1)
    assert ids[0, 0] != 100
    assert not index.contains(np.array([100]))[0]
    # update: item 101 (axis 1) moves onto axis 0 and becomes green
    index.add(np.array([101]), axis0, [ItemAttrs(color="green")])
    ids, scores = index.search(axis0, 1)
    assert ids[0, 0] == 101 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    ids, _ = index.search(axis0, 3, parse_filter({"color": "green"}))
    assert ids[0].tolist() == [101, -1, -1]
    assert len(index) == 4 * DIM - 1
    np.testing.assert_allclose(index.get_vectors(np.array([101]))[0], axis0[0])


def test_save_load_round_trip(index: VectorIndex, case: tuple[str, IndexSettings], tmp_path: Path) -> None:
    index.remove(np.arange(100, 110))  # enough dead slots to trigger compaction on save
    q = _axes(20)
    flt = parse_filter({"color": "red"})
    before = index.search(q, 5), index.search(q, 5, flt)
    save_vector_index(index, tmp_path / "v")
    loaded = load_vector_index(tmp_path / "v", case[1])
    assert loaded.backend == index.backend and loaded.model_id == "model-a" and len(loaded) == len(index)
    after = loaded.search(q, 5), loaded.search(q, 5, flt)
    for (b_ids, b_sc), (a_ids, a_sc) in zip(before, after, strict=True):
        assert b_ids.tolist() == a_ids.tolist()
        np.testing.assert_allclose(b_sc, a_sc, rtol=1e-5)
    assert loaded.facet_counts(before[0][0][0], ["color"]) == index.facet_counts(before[0][0][0], ["color"])


def _snapshot(index: VectorIndex) -> tuple:
    ids, scores = index.search(np.eye(DIM, dtype=np.float32), 5)
    return len(index), ids.tolist(), scores.tolist()


@pytest.mark.parametrize(
    "bad",
    [
        lambda idx: idx.search(np.ones((1, DIM + 1), dtype=np.float32), 3),  # wrong dim
        lambda idx: idx.search(np.full((1, DIM), np.nan, dtype=np.float32), 3),
        lambda idx: idx.search(np.ones((1, DIM), dtype=np.float32), 10**9),  # huge k
        lambda idx: idx.search(np.ones((1, DIM), dtype=np.float32), 0),
        lambda idx: idx.add(np.array([1, 2]), np.ones((2, DIM + 3), dtype=np.float32)),
        lambda idx: idx.add(np.array([1, 1]), np.ones((2, DIM), dtype=np.float32)),  # duplicate ids
        lambda idx: idx.add(np.array([1, 2]), np.ones((3, DIM), dtype=np.float32)),
        lambda idx: idx.search(np.ones((1, DIM), dtype=np.float32), 3, parse_filter({"colour": "red"})),
    ],
)
def test_bad_input_is_refused_and_index_untouched(index: VectorIndex, bad) -> None:
    before = _snapshot(index)
    with pytest.raises(InvalidInputError) as err:
        bad(index)
    assert err.value.message and err.value.hint
    assert _snapshot(index) == before


def test_model_mismatch_is_a_model_mismatch_error(index: VectorIndex, tmp_path: Path) -> None:
    from moodboard.index.bundle import SearchIndex

    bundle = SearchIndex(index, None)
    bundle.check_model("model-a")
    with pytest.raises(ModelMismatchError):
        bundle.check_model("model-b")


def test_facets_count_only_given_ids(index: VectorIndex) -> None:
    counts = index.facet_counts(np.array([100, 101, 102, 12345]), ["color", "category", "price"])
    assert counts["color"] == {"red": 2, "blue": 1}
    assert counts["category"] == {"bags": 2, "shoes": 1}
    assert sum(counts["price"].values()) == 3


def test_attribute_codes_group_ids_by_value(index: VectorIndex) -> None:
    """Codes are equal exactly when values are; unknown ids and missing values give -1."""
    ids = np.array([100, 101, 102, 103, 12345])  # categories: shoes, bags, bags, shoes, (not indexed)
    codes = index.attribute_codes(ids, "category")
    assert codes[0] == codes[3] != codes[1] == codes[2]
    assert codes[4] == -1 and (codes[:4] >= 0).all()
    index.add(np.array([999]), _axes(1), [ItemAttrs(price=1.0)])  # no category
    assert index.attribute_codes(np.array([999]), "category").tolist() == [-1]
    with pytest.raises(InvalidInputError, match="unknown attribute"):
        index.attribute_codes(ids, "size")
