"""The index job's streaming build: only pins with vectors are indexed, attributes come along."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from moodboard.core.records import Pin, Product
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import parse_filter
from moodboard.jobs.index_job import build_vector_index


def test_streaming_build_indexes_pins_with_vectors_and_samples() -> None:
    ids = np.array([7, 3, 5, 11], dtype=np.int64)  # vectors snapshot order is arbitrary
    vectors = np.eye(4, dtype=np.float32)
    batches = [
        [Pin(3, "a", "t3", color="Red", product=Product(price=Decimal("9.5"))), Pin(4, "b", "no vector")],
        [Pin(5, "c", "t5", color="blue"), Pin(7, "d", "t7", color="red"), Pin(99, "e", "gone")],
    ]
    index, sample = build_vector_index(IndexSettings(), ids, vectors, batches, "m", sample_size=2)
    assert len(index) == 3  # 11 has no pin any more; 4 and 99 have no vector
    assert index.contains(np.array([3, 5, 7, 4, 11])).tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(index.get_vectors(np.array([3]))[0], vectors[1])  # id 3 is row 1
    red, _ = index.search(np.ones((1, 4), dtype=np.float32) / 2, 5, parse_filter({"color": "RED"}))
    assert sorted(i for i in red[0].tolist() if i >= 0) == [3, 7]
    assert index.count_allowed(parse_filter({"price_max": 10})) == 1
    assert len(sample) == 2 and {p.id for p in sample} <= {3, 5, 7}
