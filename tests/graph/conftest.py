"""Tiny graphs with obvious answers for the taste-graph tests."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.records import EventType
from moodboard.core.settings import GraphSettings
from moodboard.graph.build import BoardPinArrays, EventArrays, PinTable, build_graph
from moodboard.graph.csr import TasteGraph
from moodboard.graph.weights import EVENT_CODES

T0 = 1_700_000_000.0


def events_from(rows: list[tuple[int, int, EventType, float]]) -> EventArrays:
    """Event arrays from (user, pin, type, ts) rows."""
    if not rows:
        return EventArrays.empty()
    u, p, t, ts = zip(*rows, strict=True)
    return EventArrays(
        np.array(u, np.int64), np.array(p, np.int64), np.array([EVENT_CODES[x] for x in t], np.uint8),
        np.array(ts, np.float64),
    )  # fmt: skip


def community_rows(seed: int = 0) -> tuple[list[tuple[int, int]], list[tuple[int, int, EventType, float]]]:
    """Two disjoint communities: boards 1-6 hold pins 100-139 (cats), boards 11-16 pins 200-239 (dogs).

    Users 1-3 save cat pins, users 11-13 save dog pins. Nothing links the two halves.
    """
    rng = np.random.default_rng(seed)
    board_rows: list[tuple[int, int]] = []
    for b in range(1, 7):
        board_rows += [(b, 100 + int(p)) for p in rng.choice(40, 15, replace=False)]
    for b in range(11, 17):
        board_rows += [(b, 200 + int(p)) for p in rng.choice(40, 15, replace=False)]
    events: list[tuple[int, int, EventType, float]] = []
    for u, base in ((1, 100), (2, 100), (3, 100), (11, 200), (12, 200), (13, 200)):
        for i, p in enumerate(rng.choice(40, 8, replace=False)):
            events.append((u, base + int(p), EventType.SAVE, T0 + 60 * i))
    return board_rows, events


def graph_from(
    board_rows: list[tuple[int, int]], events: list[tuple[int, int, EventType, float]], **kw: object
) -> TasteGraph:
    """Build a graph from rows; extra pins 900-902 exist in the catalog but have no edges."""
    b = np.array([r[0] for r in board_rows], np.int64)
    p = np.array([r[1] for r in board_rows], np.int64)
    ids = np.array(sorted({*p.tolist(), *(e[1] for e in events), 900, 901, 902}), np.int64)
    cat = np.where(ids < 200, 0, 1).astype(np.int16)[:, None]
    pins = PinTable(ids, cat, {"category": ["cats", "dogs"]})
    return build_graph(events_from(events), BoardPinArrays(b, p), pins, **kw)  # type: ignore[arg-type]


@pytest.fixture
def communities() -> TasteGraph:
    """The two-community graph."""
    boards, events = community_rows()
    return graph_from(boards, events)


@pytest.fixture
def graph_settings() -> GraphSettings:
    """Small walks so tests are fast."""
    return GraphSettings(walk_steps=3000, n_p=30, n_v=3, max_k=100, seed=7)


@pytest.fixture
def make_events() -> object:
    """The `events_from` helper, as a fixture (tests/ is not a package)."""
    return events_from


@pytest.fixture
def make_graph() -> object:
    """The `graph_from` helper, as a fixture."""
    return graph_from


@pytest.fixture
def rows() -> tuple[list[tuple[int, int]], list[tuple[int, int, EventType, float]]]:
    """Board rows and events of the two-community graph."""
    return community_rows()
