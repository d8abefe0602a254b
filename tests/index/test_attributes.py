"""The attribute table's per-request arithmetic against plain reference versions (it was rewritten in numpy
for speed, issue 12): the codes of a set of slots, and the price bands of a pool."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from moodboard.index.attributes import _Column, _round_edge, price_buckets


def _reference_buckets(prices: np.ndarray) -> dict[str, int]:
    prices = prices[np.isfinite(prices)]
    if prices.shape[0] == 0:
        return {}
    lo, hi = float(np.percentile(prices, 5)), float(np.percentile(prices, 95))
    edges = sorted({_round_edge(v) for v in np.geomspace(max(lo, 1e-2), max(hi, lo * 1.01, 1e-2), 5)[1:]})
    out: dict[str, int] = {}
    for a, b in itertools.pairwise((0.0, *edges, math.inf)):
        n = int(((prices >= a) & (prices < b)).sum())
        if n:
            out[f"{a:g}-{b:g}" if math.isfinite(b) else f"{a:g}+"] = n
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1e6, width=32), st.just(float("nan"))), max_size=300))
def test_price_bands_equal_the_reference(values: list[float]) -> None:
    prices = np.array(values, dtype=np.float32)
    assert price_buckets(prices) == _reference_buckets(prices)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(1, 9), max_size=4), min_size=1, max_size=30), st.data())
def test_codes_of_slots_equal_the_concatenation(rows: list[list[int]], data: st.DataObject) -> None:
    col = _Column(0)
    col.indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    col.codes = np.array([c for r in rows for c in r], dtype=np.int32)
    slots = np.array(data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=40)), dtype=np.int64)
    want = [c for s in slots.tolist() for c in rows[s]]
    assert col.of(slots).tolist() == want


def test_a_price_on_an_inexact_band_edge_is_in_the_band_that_starts_there() -> None:
    # found by the property test above: 0.01 has no exact float32, and the band edges are float64
    assert price_buckets(np.array([0.01], dtype=np.float32)) == {"0.01+": 1}
