"""Real-time delta overlay: saves and hides since the last snapshot, visible to walks immediately.

A save (or click or purchase) adds a pin <-> user edge that walks traverse at once; a hide or purchase
goes into the user's exclusion set at once. New pins and users get graph indices past the snapshot's.
The next `graph build` reads the same events from the store and folds them into the snapshot; `rebase`
then keeps only the events newer than that snapshot. Hides remove the snapshot edge only at that merge;
until then the hidden pin is filtered from the user's results and no longer used as a query pin.

An event that carries its store id is applied once, however often it is delivered: the in-process
publish and the store poll both hand the same stored event to the overlay.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from moodboard.core.records import EVENT_WEIGHTS, EventType
from moodboard.graph.csr import TasteGraph
from moodboard.graph.random_walk import OverlayArrays

# the positive engagement that adds a walkable edge, weighted by the one table (views add no edge)
_POSITIVE = {t: EVENT_WEIGHTS[t] for t in (EventType.SAVE, EventType.PURCHASE, EventType.CLICK)}


@dataclass
class UserDelta:
    """What one user did since the snapshot: recent positive pins (graph indices) and exclusions."""

    positives: list[tuple[int, float, float]] = field(default_factory=list)  # (pin, weight, ts)
    hidden: set[int] = field(default_factory=set)
    purchased: set[int] = field(default_factory=set)
    saved: set[int] = field(default_factory=set)
    unhidden: set[int] = field(default_factory=set)


class DeltaOverlay:
    """Thread-safe log of engagement newer than a snapshot, exposed as `OverlayArrays` for walks."""

    def __init__(self, graph: TasteGraph) -> None:
        """Start an empty overlay on top of `graph`."""
        self._lock = threading.Lock()
        self._reset(graph)

    def _reset(self, graph: TasteGraph) -> None:
        self.graph = graph
        self._new_pins: dict[int, int] = {}
        self._new_users: dict[int, int] = {}
        self._edges: dict[tuple[int, int], None] = {}
        self._users: dict[int, UserDelta] = {}
        self._log: list[tuple[int, int, EventType, float]] = []
        self._log_ids: list[int | None] = []
        self._ids: set[int] = set()
        self._arrays: OverlayArrays | None = None

    def __len__(self) -> int:
        """Number of events held."""
        return len(self._log)

    def pin_index(self, pin_id: int) -> int:
        """Graph index of a pin in the snapshot or the overlay; -1 if unknown to both."""
        idx = int(self.graph.pin_index([pin_id])[0])
        return idx if idx >= 0 else self._new_pins.get(pin_id, -1)

    def pin_id(self, idx: int) -> int:
        """Catalog id of a graph pin index (snapshot or overlay)."""
        if idx < self.graph.n_pins:
            return int(self.graph.pin_ids[idx])
        for pid, i in self._new_pins.items():
            if i == idx:
                return pid
        raise KeyError(idx)

    def user_index(self, user_id: int) -> int:
        """Collection index of a user in the snapshot or the overlay; -1 if unknown to both."""
        idx = int(self.graph.user_index([user_id])[0])
        return idx if idx >= 0 else self._new_users.get(user_id, -1)

    def user_delta(self, user_id: int) -> UserDelta:
        """The user's changes since the snapshot (an empty record when none)."""
        with self._lock:
            d = self._users.get(user_id)
            return (
                UserDelta(list(d.positives), set(d.hidden), set(d.purchased), set(d.saved), set(d.unhidden))
                if d
                else UserDelta()
            )

    def add(self, user_id: int, pin_id: int, etype: EventType, ts: float, event_id: int | None = None) -> bool:
        """Record one event; walks started after this call see it.

        Returns False (and changes nothing) when an event with this store id was applied already.
        """
        with self._lock:
            if event_id is not None:
                if event_id in self._ids:
                    return False
                self._ids.add(event_id)
            self._log.append((user_id, pin_id, etype, ts))
            self._log_ids.append(event_id)
            self._apply(user_id, pin_id, etype, ts)
            self._arrays = None
            return True

    def _apply(self, user_id: int, pin_id: int, etype: EventType, ts: float) -> None:
        pin = self.pin_index(pin_id)
        if pin < 0:
            pin = self.graph.n_pins + len(self._new_pins)
            self._new_pins[pin_id] = pin
        user = self.user_index(user_id)
        if user < 0:
            user = self.graph.n_colls + len(self._new_users)
            self._new_users[user_id] = user
        d = self._users.setdefault(user_id, UserDelta())
        if etype == EventType.HIDE:
            d.hidden.add(pin)
            d.saved.discard(pin)
            d.unhidden.discard(pin)
            d.positives = [x for x in d.positives if x[0] != pin]
            self._edges.pop((pin, user), None)
            return
        if etype == EventType.PURCHASE:
            d.purchased.add(pin)
        if etype == EventType.SAVE:
            d.saved.add(pin)
            if pin in d.hidden:  # saving again after a hide undoes the hide
                d.hidden.discard(pin)
                d.unhidden.add(pin)
        weight = _POSITIVE.get(etype)
        if weight is not None:
            d.positives.append((pin, weight, ts))
            self._edges[(pin, user)] = None

    def arrays(self) -> OverlayArrays:
        """The overlay's edges as small CSRs for the walk kernel (cached until the next event)."""
        with self._lock:
            if self._arrays is None:
                self._arrays = self._build_arrays()
            return self._arrays

    def _build_arrays(self) -> OverlayArrays:
        n_pins = self.graph.n_pins + len(self._new_pins)
        n_colls = self.graph.n_colls + len(self._new_users)
        if not self._edges:
            empty = OverlayArrays.empty(self.graph)
            return OverlayArrays(
                empty.pin_slot, empty.pin_ptr, empty.pin_adj, empty.coll_slot, empty.coll_ptr,
                empty.coll_adj, n_pins, n_colls,
            )  # fmt: skip
        e = np.array(list(self._edges), dtype=np.int64)
        pin_slot, pin_ptr, pin_adj = _slot_csr(e[:, 0], e[:, 1], n_pins)
        coll_slot, coll_ptr, coll_adj = _slot_csr(e[:, 1], e[:, 0], n_colls)
        return OverlayArrays(pin_slot, pin_ptr, pin_adj, coll_slot, coll_ptr, coll_adj, n_pins, n_colls)

    def events(self) -> list[tuple[int, int, EventType, float]]:
        """Every event held, oldest first, as (user_id, pin_id, type, ts)."""
        with self._lock:
            return list(self._log)

    def rebase(self, graph: TasteGraph) -> int:
        """Switch to a newer snapshot, keeping only events after its `events_until`; returns how many."""
        until = graph.meta.get("events_until")
        with self._lock:
            logged = zip(self._log, self._log_ids, strict=True)
            keep = [(ev, i) for ev, i in logged if until is None or ev[3] > float(until)]
            self._reset(graph)
            for ev, event_id in keep:
                self._log.append(ev)
                self._log_ids.append(event_id)
                if event_id is not None:
                    self._ids.add(event_id)  # the store poll after a swap re-reads these: apply them once
                self._apply(*ev)
            return len(keep)


def _slot_csr(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR over the distinct `src` nodes, addressed through a dense slot map of size `n_nodes`."""
    order = np.argsort(src, kind="stable")
    s, d = src[order], dst[order]
    nodes, counts = np.unique(s, return_counts=True)
    slot = np.full(n_nodes, -1, dtype=np.int32)
    slot[nodes] = np.arange(len(nodes), dtype=np.int32)
    ptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return slot, ptr, d.astype(np.int32)
