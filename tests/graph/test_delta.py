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


def test_a_stored_event_is_applied_once_however_often_delivered(
    communities: TasteGraph, make_graph: Any, rows: Any
) -> None:
    # Regression (issue 17, review 1.2 "Events"): the in-process publish and the store poll both deliver
    # a stored event, and after a snapshot swap the poll re-read the events the rebase had kept
    boards, events = rows
    ov = DeltaOverlay(communities)
    assert ov.add(1, 205, EventType.SAVE, T0 + 1_000_000, event_id=41)
    assert not ov.add(1, 205, EventType.SAVE, T0 + 1_000_000, event_id=41)  # the same event again
    assert ov.add(1, 205, EventType.SAVE, T0 + 1_000_001)  # no id (never stored): always applied
    assert len(ov) == 2 and len(ov.user_delta(1).positives) == 2
    kept = ov.rebase(make_graph(boards, events))
    assert kept == 2
    assert not ov.add(1, 205, EventType.SAVE, T0 + 1_000_000, event_id=41)  # the poll after the swap
    assert len(ov) == 2 and len(ov.user_delta(1).positives) == 2
