"""Delta overlay: real-time edges, exclusions, new nodes and rebasing onto a newer snapshot."""

from __future__ import annotations

from typing import Any

from moodboard.core.records import EventType
from moodboard.graph.csr import TasteGraph
from moodboard.graph.delta import DeltaOverlay

T0 = 1_700_000_000.0


def test_overlay_edges_and_new_nodes(communities: TasteGraph) -> None:
    ov = DeltaOverlay(communities)
    ov.add(1, 205, EventType.SAVE, T0)
    ov.add(50, 7777, EventType.SAVE, T0 + 1)
    arr = ov.arrays()
    assert arr.n_pins == communities.n_pins + 1 and arr.n_colls == communities.n_colls + 1
    p = ov.pin_index(205)
    slot = arr.pin_slot[p]
    assert slot >= 0 and arr.pin_adj[arr.pin_ptr[slot] : arr.pin_ptr[slot + 1]].tolist() == [ov.user_index(1)]
    assert ov.pin_id(ov.pin_index(7777)) == 7777


def test_hide_removes_overlay_edge_and_excludes(communities: TasteGraph) -> None:
    ov = DeltaOverlay(communities)
    ov.add(1, 205, EventType.SAVE, T0)
    ov.add(1, 205, EventType.HIDE, T0 + 1)
    d = ov.user_delta(1)
    assert ov.pin_index(205) in d.hidden and not d.positives and not d.saved
    assert len(ov.arrays().pin_adj) == 0


def test_rebase_keeps_only_newer_events(communities: TasteGraph, make_graph: Any, rows: Any) -> None:
    boards, events = rows
    ov = DeltaOverlay(communities)
    ov.add(1, 205, EventType.SAVE, T0 + 10)
    ov.add(1, 206, EventType.SAVE, T0 + 1_000_000)
    merged = make_graph(boards, [*events, (1, 205, EventType.SAVE, T0 + 10)])  # next snapshot saw the first
    assert merged.meta["events_until"] < T0 + 1_000_000
    kept = ov.rebase(merged)
    assert kept == 1 and [e[1] for e in ov.events()] == [206]
    u = int(merged.user_index([1])[0])
    assert 205 in set(merged.pin_ids[merged.coll_neighbors(u)[0]].tolist())
