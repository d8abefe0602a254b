"""Graph build: weights, hides, pruning, CSR symmetry and the memory-mapped snapshot round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError, NotFoundError
from moodboard.core.records import EventType
from moodboard.core.snapshot import current_snapshot, write_snapshot
from moodboard.graph.build import BoardPinArrays, BuildParams, EventArrays, PinTable, build_graph, edge_weight_arrays
from moodboard.graph.csr import HIDDEN, PURCHASED, SAVED, TasteGraph
from moodboard.graph.weights import decayed_weights, pack_nibbles, quantize, unpack_nibbles, weight_table

T0 = 1_700_000_000.0


def test_weights_order_and_decay() -> None:
    codes = np.array([0, 1, 2, 3], np.uint8)
    w = decayed_weights(codes, np.full(4, T0), T0, 90.0)
    assert w[2] > w[1] > w[0] > 0 > w[3]
    old = decayed_weights(np.array([2], np.uint8), np.array([T0 - 90 * 86400.0]), T0, 90.0)
    assert old[0] == pytest.approx(weight_table()[2] / 2, rel=1e-5)


def test_nibble_roundtrip_and_levels() -> None:
    lv = np.array([1, 15, 7, 0, 3], np.uint8)
    assert unpack_nibbles(pack_nibbles(lv), 5).tolist() == lv.tolist()
    q = quantize(np.array([1.0, 0.5, 0.01, -1.0], np.float32))
    assert q[0] == 15 and q[1] == 13 and 1 <= q[2] < q[1] and q[3] == 0


def test_csr_is_symmetric(communities: TasteGraph) -> None:
    g = communities
    pins, colls, _ = edge_weight_arrays(g)
    fwd = set(zip(pins.tolist(), colls.tolist(), strict=True))
    back = set()
    for p in range(g.n_pins):
        nb, _ = g.pin_neighbors(p)
        back |= {(p, int(c)) for c in nb}
    assert fwd == back and len(fwd) == g.n_edges
    assert g.pin_adj.dtype == np.int32 and g.coll_adj.dtype == np.int32
    assert g.pin_index([900])[0] >= 0 and g.pin_degree(g.pin_index([900]))[0] == 0


def test_hide_cancels_edge_and_is_recorded(make_events: Any) -> None:
    ev = make_events(
        [
            (1, 10, EventType.SAVE, T0),
            (1, 11, EventType.SAVE, T0),
            (1, 11, EventType.HIDE, T0 + 5),
            (1, 12, EventType.PURCHASE, T0),
            (2, 11, EventType.CLICK, T0),
        ]
    )
    g = build_graph(ev)
    u1 = int(g.user_index([1])[0])
    nb, _ = g.coll_neighbors(u1)
    assert set(g.pin_ids[nb].tolist()) == {10, 12}  # the hidden pin lost its edge
    hp, hf = g.hygiene(u1)
    flags = dict(zip(g.pin_ids[hp].tolist(), hf.tolist(), strict=True))
    assert flags[11] & HIDDEN and not flags[11] & SAVED
    assert flags[12] & PURCHASED and flags[10] & SAVED


def test_save_after_hide_unhides(make_events: Any) -> None:
    ev = make_events([(1, 11, EventType.HIDE, T0), (1, 11, EventType.SAVE, T0 + 5)])
    g = build_graph(ev, params=BuildParams(event_weights={EventType.HIDE: -0.5}))
    _, hf = g.hygiene(int(g.user_index([1])[0]))
    assert hf.tolist() == [SAVED]


def test_high_entropy_boards_are_pruned() -> None:
    # board 1 mixes 12 categories evenly, boards 2..20 are single-topic
    rows = [(1, 1000 + c) for c in range(12)]
    rows += [(b, 2000 + b * 20 + i) for b in range(2, 21) for i in range(12)]
    b = np.array([r[0] for r in rows], np.int64)
    p = np.array([r[1] for r in rows], np.int64)
    ids = np.unique(p)
    cats = np.where(ids < 2000, ids - 1000, (ids - 2000) // 20).astype(np.int16)[:, None]
    pins = PinTable(ids, cats, {"category": [str(i) for i in range(30)]})
    g = build_graph(EventArrays.empty(), BoardPinArrays(b, p), pins, BuildParams(prune_quantile=0.9))
    assert g.meta["pruned_collections"] == 1
    assert len(g.coll_neighbors(int(g.board_index([1])[0]))[0]) == 0
    assert len(g.coll_neighbors(int(g.board_index([2])[0]))[0]) == 12


def test_snapshot_roundtrip_is_memory_mapped(tmp_path: Path, communities: TasteGraph) -> None:
    path = write_snapshot(tmp_path, "graph", communities.save, {"source": "test"})
    assert current_snapshot(tmp_path, "graph") == path
    g = TasteGraph.load(path)
    assert isinstance(g.pin_adj.base, np.memmap)  # a view over the mapped file, not a copy
    assert np.array_equal(g.coll_adj, communities.coll_adj) and g.meta == communities.meta


def test_bad_inputs() -> None:
    bad = EventArrays(np.zeros(2, np.int64), np.zeros(1, np.int64), np.zeros(2, np.uint8), np.zeros(2))
    with pytest.raises(InvalidInputError):
        build_graph(bad)
    g = build_graph(EventArrays.empty())
    assert g.n_edges == 0 and g.n_pins == 0
    with pytest.raises(NotFoundError):
        g.require_pin(5)
