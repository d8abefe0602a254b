"""The graph job: read pins, boards and events from the catalog store, build the taste graph, publish it.

Reader (store batches -> arrays) -> mapper (`graph.build.build_graph`) -> writer (`write_snapshot`, kind
"graph"). Every event in the store is read, including the real-time ones the serving overlay already
applied, so the new snapshot merges the overlay; servers then rebase their overlay onto it.

The mapper is one global, vectorised aggregation (edge weights summed per (collection, pin) over all
events, board entropy over all of a board's pins, CSR layout of the whole graph): partitions would need
a shuffle by key to merge, so it runs as one task on the job runner (this process, or one Ray task).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Pin
from moodboard.core.settings import Settings
from moodboard.core.snapshot import write_snapshot
from moodboard.graph.build import BoardPinArrays, BuildParams, EventArrays, PinTable, build_graph
from moodboard.graph.csr import TasteGraph
from moodboard.graph.weights import EVENT_CODES
from moodboard.index.bundle import current_profile
from moodboard.index.profile import CatalogProfile
from moodboard.jobs.runner import JobRunner, LocalRunner

Progress = Callable[[str, int], None]
"""Called as progress(stage, items_done_in_this_call)."""

FEATURES = ("category", "price_band", "language")


def price_band(price: float | None) -> str | None:
    """Log-2 price band label (e.g. "16-32"), or None without a price."""
    if price is None or price <= 0:
        return None
    lo = 2 ** math.floor(math.log2(price))
    return f"{lo:g}-{2 * lo:g}"


def pin_feature_values(pin: Pin, profile: CatalogProfile | None = None) -> tuple[str | None, ...]:
    """The walk-bias features of a pin: category, price band, language.

    The category is the deepest level the catalog profile kept (a raw category path can be unique per
    product -- a crawled "Home >> Rugs >> Acme Rug 5x8" -- and would bias the walk towards nothing)."""
    attrs = pin.attributes or {}
    category = pin.category
    if profile is not None and category:
        levels = profile.values_of("category", category)
        category = levels[-1] if levels else None
    price = float(pin.product.price) if pin.product.price is not None else None
    lang = attrs.get("language") or attrs.get("lang")
    return (str(category) if category else None, price_band(price), str(lang) if lang else None)


def read_pins(store: CatalogStore, progress: Progress | None = None, profile: CatalogProfile | None = None) -> PinTable:
    """Every pin id with its feature codes (categories read through the catalog profile when given)."""
    ids: list[int] = []
    values: list[tuple[str | None, ...]] = []
    for batch in store.iter_pins(batch_size=5000):
        ids += [p.id for p in batch]
        values += [pin_feature_values(p, profile) for p in batch]
        if progress:
            progress("pins", len(batch))
    vocab: dict[str, list[str]] = {}
    feats = np.full((len(ids), len(FEATURES)), -1, dtype=np.int16)
    for f, name in enumerate(FEATURES):
        labels = sorted({str(v[f]) for v in values if v[f] is not None})[:32_000]
        code = {label: i for i, label in enumerate(labels)}
        vocab[name] = labels
        feats[:, f] = [code.get(str(v[f]), -1) if v[f] is not None else -1 for v in values]
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    return PinTable(np.asarray(ids, dtype=np.int64)[order], feats[order], vocab)


def read_events(store: CatalogStore, progress: Progress | None = None) -> EventArrays:
    """Every engagement event as arrays."""
    users: list[int] = []
    pins: list[int] = []
    codes: list[int] = []
    ts: list[float] = []
    for batch in store.iter_events():
        for e in batch:
            users.append(e.user_id)
            pins.append(e.pin_id)
            codes.append(EVENT_CODES[e.type])
            ts.append(e.ts.timestamp())
        if progress:
            progress("events", len(batch))
    return EventArrays(
        np.asarray(users, np.int64), np.asarray(pins, np.int64), np.asarray(codes, np.uint8), np.asarray(ts, np.float64)
    )


def read_boards(store: CatalogStore, progress: Progress | None = None) -> BoardPinArrays:
    """Board memberships and board owners."""
    boards: list[int] = []
    pins: list[int] = []
    for batch in store.iter_board_pins():
        boards += [b for b, _ in batch]
        pins += [p for _, p in batch]
        if progress:
            progress("board pins", len(batch))
    owner_board: list[int] = []
    owner_user: list[int] = []
    for user in store.list_users():
        for board in store.list_boards(user.id):
            owner_board.append(board.id)
            owner_user.append(user.id)
    return BoardPinArrays(
        np.asarray(boards, np.int64), np.asarray(pins, np.int64),
        np.asarray(owner_board, np.int64), np.asarray(owner_user, np.int64),
    )  # fmt: skip


def build_params(settings: Settings) -> BuildParams:
    """Build knobs from the graph settings section."""
    g = settings.graph
    return BuildParams(
        half_life_days=g.half_life_days, prune_quantile=g.board_entropy_prune_quantile, include_users=g.include_users
    )


def run_graph_job(
    store: CatalogStore, settings: Settings, progress: Progress | None = None, runner: JobRunner | None = None
) -> tuple[Path, TasteGraph]:
    """Build the taste graph from the store and publish it as the current "graph" snapshot.

    The build runs as one task on `runner` (local by default); reading and publishing run here.

    Returns:
        The snapshot folder and the graph that was written.
    """
    pins = read_pins(store, progress, current_profile(settings.snapshots_dir))
    events = read_events(store, progress)
    boards = read_boards(store, progress)
    runner = runner or LocalRunner()
    graph = runner.call(build_graph, events, boards, pins, build_params(settings))
    if progress:
        progress("built", 1)
    manifest: dict[str, Any] = {
        "inputs": {
            "database": settings.database_url.split("@")[-1],
            "events": len(events.ts),
            "board_pins": len(boards.pin),
        },
        "settings": settings.graph.model_dump(),
        "runner": runner.name,
    }
    path = write_snapshot(settings.snapshots_dir, "graph", graph.save, manifest)
    return path, graph
