"""The serving side of the taste graph: the current snapshot, its real-time overlay, and hot swaps.

`LiveGraph` loads the snapshot named by `<snapshots>/graph/CURRENT` (memory-mapped), answers through a
`GraphRecommender`, and keeps the overlay fresh by pulling events newer than the snapshot from an
injected `fetch_events(since)` callable at most every `poll_s` seconds (so a save recorded by any writer
shows up within a second, also across processes). When `CURRENT` moves to a newer build, it swaps the
snapshot and rebases the overlay onto it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import NotFoundError, SnapshotError
from moodboard.core.live_snapshot import LiveSnapshot, SnapshotStatus
from moodboard.core.records import Event
from moodboard.core.settings import GraphSettings
from moodboard.core.snapshot import verify_snapshot
from moodboard.graph.csr import TasteGraph
from moodboard.graph.delta import DeltaOverlay
from moodboard.graph.recommender import GraphRecommender, RecommendationList

EventFetcher = Callable[[datetime | None], Iterator[list[Event]] | Iterable[list[Event]]]
VectorLoader = Callable[[], tuple[IntArray, FloatArray] | None]


def load_graph_snapshot(path: Path) -> TasteGraph:
    """Open a graph snapshot after checking its files against the manifest's checksums."""
    verify_snapshot(path)
    return TasteGraph.load(path)


class LiveGraph:
    """Thread-safe holder of the live recommender; reloads on snapshot change, pulls fresh events."""

    def __init__(
        self,
        settings: GraphSettings,
        snapshots_dir: Path,
        *,
        fetch_events: EventFetcher | None = None,
        load_vectors: VectorLoader | None = None,
        poll_s: float = 0.5,
    ) -> None:
        """Serve the graph snapshots under `snapshots_dir`; nothing is loaded until the first request.

        `load_vectors` returns (pin ids, vectors) of the search index, or None when there are none; it is
        called at each snapshot swap.
        """
        self.settings = settings
        self.snapshots_dir = snapshots_dir
        self.fetch_events = fetch_events
        self.load_vectors = load_vectors
        self.poll_s = poll_s
        self._lock = threading.RLock()
        self._path: Path | None = None
        # the swap cadence is this class's (`poll_s`), so the holder checks the pointer on every call
        self._graphs: LiveSnapshot[TasteGraph] = LiveSnapshot(
            snapshots_dir, "graph", load_graph_snapshot, check_every_s=0.0,
            missing_hint="run `moodboard graph build` first",
        )  # fmt: skip
        self._rec: GraphRecommender | None = None
        self._checked = 0.0
        self._polled = 0.0
        self._since: float | None = None

    @property
    def snapshot(self) -> Path | None:
        """The folder of the snapshot being served, if any."""
        return self._path

    def status(self) -> SnapshotStatus:
        """The graph version served, the current one, and why it was refused (if it was)."""
        return self._graphs.status()

    def recommender(self) -> GraphRecommender:
        """The live recommender, after swapping snapshots and pulling events when due.

        Raises:
            SnapshotError: no graph snapshot was built yet.
        """
        now = time.monotonic()
        with self._lock:
            if self._rec is None or now - self._checked >= self.poll_s:
                self._checked = now
                self._maybe_swap()
            if self._rec is None:
                raise SnapshotError("no taste graph snapshot yet", "run `moodboard graph build` first")
            if self.fetch_events is not None and now - self._polled >= self.poll_s:
                self._polled = now
                self._pull()
            return self._rec

    def _maybe_swap(self) -> None:
        try:
            graph = self._graphs.get()  # a broken new snapshot is refused (logged); the old graph keeps serving
        except NotFoundError:
            return
        path = self._graphs.path
        if self._rec is not None and graph is self._rec.graph:
            return
        overlay = DeltaOverlay(graph) if self._rec is None else self._rec.overlay
        if self._rec is not None:
            overlay.rebase(graph)
        embeddings = self._embeddings(graph) if self.settings.profile_embeddings else None
        self._rec = GraphRecommender(graph, self.settings, overlay=overlay, embeddings=embeddings)
        self._path = path
        until = graph.meta.get("events_until")
        self._since = float(until) if until is not None else None
        self._polled = 0.0

    def _embeddings(self, graph: TasteGraph) -> FloatArray | None:
        """The search index's pin vectors aligned with the graph's pins (zero rows where a pin has none).

        Taste profiles then cluster a user's pins by what they look like, and a pin without graph
        neighbours gets content-similar pins; with no vectors snapshot, profiles use graph neighbourhoods.
        """
        loaded = self.load_vectors() if self.load_vectors is not None else None
        if loaded is None:
            return None
        ids, vectors = loaded
        order = np.argsort(ids, kind="stable")
        ids, vectors = ids[order], vectors[order]
        pin_ids = np.asarray(graph.pin_ids, dtype=np.int64)
        pos = np.minimum(np.searchsorted(ids, pin_ids), max(len(ids) - 1, 0))
        found = (ids[pos] == pin_ids) if len(ids) else np.zeros(len(pin_ids), bool)
        out = np.zeros((len(pin_ids), vectors.shape[1]), np.float32)
        out[found] = vectors[pos[found]]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=out, where=norms > 0)

    def _pull(self) -> None:
        assert self._rec is not None and self.fetch_events is not None
        # re-read a second back so events stamped with the same time as the last one are not missed
        since = datetime.fromtimestamp(self._since - 1.0, UTC) if self._since is not None else None
        for batch in self.fetch_events(since):
            for ev in batch:
                ts = ev.ts.timestamp()
                until = self._rec.graph.meta.get("events_until")
                if until is not None and ts <= float(until):
                    continue  # already inside the snapshot
                self.record(ev)  # the overlay skips an event (by id) that the in-process publish applied
                self._since = max(self._since or ts, ts)

    def record(self, event: Event) -> bool:
        """Apply one event to the overlay now (the in-process fast path); False if its id was applied."""
        with self._lock:
            if self._rec is None:
                self._maybe_swap()
            if self._rec is None:
                return False
            return self._rec.overlay.add(event.user_id, event.pin_id, event.type, event.ts.timestamp(), event.id)

    def related(
        self, pin_id: int, k: int, *, user_id: int | None = None, seed: int | None = None
    ) -> RecommendationList:
        """Walk candidates related to a pin (`rank.feed` blends and fills them)."""
        return self.recommender().related(pin_id, k, user_id=user_id, seed=seed)

    def feed(
        self, user_id: int, k: int, *, seed: int | None = None, filter_saved: bool | None = None
    ) -> RecommendationList:
        """Walk candidates for a user's home feed (`rank.feed` blends and fills them)."""
        return self.recommender().feed(user_id, k, seed=seed, filter_saved=filter_saved)
