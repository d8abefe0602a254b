"""Build a `TasteGraph` from engagement events and board memberships (pure: arrays in, graph out).

Steps: weight each event by type and age, sum weights per (pin, collection) pair, drop pairs whose sum is
not positive (a hide cancels the edge), prune high-entropy boards (Pixie, WWW 2018, section 3.2), then lay
out CSR arrays in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.core.records import EventType
from moodboard.graph.csr import BOARD, HIDDEN, PURCHASED, SAVED, UNIFORM, USER, TasteGraph
from moodboard.graph.weights import (
    EVENT_CODES,
    decayed_weights,
    level_values,
    pack_nibbles,
    quantize,
    unpack_nibbles,
    weight_table,
)

_SAVE = EVENT_CODES[EventType.SAVE]
_HIDE = EVENT_CODES[EventType.HIDE]
_BUY = EVENT_CODES[EventType.PURCHASE]


@dataclass
class EventArrays:
    """Engagement events as parallel arrays: user id, pin id, event code, time (epoch seconds)."""

    user: IntArray
    pin: IntArray
    code: NDArray[np.uint8]
    ts: NDArray[np.float64]

    @classmethod
    def empty(cls) -> EventArrays:
        """No events."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0))


@dataclass
class BoardPinArrays:
    """Board memberships: board id, pin id, optional owner per board (parallel owner arrays)."""

    board: IntArray
    pin: IntArray
    owner_board: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    owner_user: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def empty(cls) -> BoardPinArrays:
        """No boards."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))


@dataclass
class PinTable:
    """Known pins and their categorical features (codes index into each vocabulary; -1 unknown)."""

    ids: IntArray
    feats: NDArray[np.int16]
    vocab: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildParams:
    """Knobs of the graph build (mirrors `GraphSettings`)."""

    half_life_days: float = 90.0
    prune_quantile: float = 0.99
    prune_feature: str = "category"
    min_prune_degree: int = 10
    include_users: bool = True
    now: float | None = None
    event_weights: dict[EventType, float] | None = None
    max_history: int = 500


def build_graph(
    events: EventArrays,
    board_pins: BoardPinArrays | None = None,
    pins: PinTable | None = None,
    params: BuildParams | None = None,
) -> TasteGraph:
    """Build the taste graph from events and board memberships.

    Args:
        events: engagement events; users become collection nodes when `params.include_users`.
        board_pins: board memberships, each weighted like a save without decay.
        pins: all catalog pins with features; pins without edges still get a node (cold start).
        params: weights, decay and pruning.

    Returns:
        The graph, with `meta` describing what was pruned and the time range of events.
    """
    p = params or BuildParams()
    bp = board_pins or BoardPinArrays.empty()
    _check(events, bp)
    now = p.now if p.now is not None else (float(events.ts.max()) if len(events.ts) else 0.0)

    pin_ids = np.unique(np.concatenate([events.pin, bp.pin, pins.ids if pins else np.zeros(0, np.int64)]))
    board_ids = np.unique(np.concatenate([bp.board, bp.owner_board]))
    user_ids = np.unique(np.concatenate([events.user, bp.owner_user]))
    nb, n_pins = len(board_ids), len(pin_ids)
    coll_ids = np.concatenate([board_ids, user_ids]).astype(np.int64)
    coll_kind = np.concatenate([np.full(nb, BOARD, np.int8), np.full(len(user_ids), USER, np.int8)])

    ev_pin = np.searchsorted(pin_ids, events.pin)
    ev_coll = nb + np.searchsorted(user_ids, events.user)
    w_ev = decayed_weights(events.code, events.ts, now, p.half_life_days, weight_table(p.event_weights))
    if not p.include_users:  # boards only, as in Pixie; events still feed the hygiene lists
        ev_pin, ev_coll, w_ev = ev_pin[:0], ev_coll[:0], w_ev[:0]
    bp_pin = np.searchsorted(pin_ids, bp.pin)
    bp_coll = np.searchsorted(board_ids, bp.board)
    save_w = float(weight_table(p.event_weights)[_SAVE])
    all_pin = np.concatenate([ev_pin, bp_pin]).astype(np.int64)
    all_coll = np.concatenate([ev_coll, bp_coll]).astype(np.int64)
    all_w = np.concatenate([w_ev, np.full(len(bp_pin), save_w, np.float32)])

    key = all_coll * max(n_pins, 1) + all_pin
    uniq, inv = np.unique(key, return_inverse=True)
    agg = np.bincount(inv, weights=all_w, minlength=len(uniq)).astype(np.float32)
    pos = agg > 0
    e_coll = (uniq[pos] // max(n_pins, 1)).astype(np.int64)
    e_pin = (uniq[pos] % max(n_pins, 1)).astype(np.int64)
    e_w = agg[pos]

    feats = _align_feats(pins, pin_ids)
    vocab = pins.vocab if pins else {}
    names = list(vocab)
    pruned = np.zeros(0, dtype=np.int64)
    if p.prune_quantile < 1.0 and p.prune_feature in names and len(e_coll):
        pruned = _high_entropy(e_coll, feats[e_pin, names.index(p.prune_feature)], coll_kind, p)
        keep_e = ~np.isin(e_coll, pruned)
        e_coll, e_pin, e_w = e_coll[keep_e], e_pin[keep_e], e_w[keep_e]

    levels = quantize(e_w)
    # collection-major order is the natural result of np.unique on coll * P + pin
    coll_indptr = _indptr(e_coll, len(coll_ids), len(e_coll))
    order = np.lexsort((e_coll, e_pin))
    pin_indptr = _indptr(e_pin[order], n_pins, len(e_coll))
    hyg_indptr, hyg_pins, hyg_flags = _hygiene(events, bp, pin_ids, user_ids, nb, len(coll_ids))
    hist_indptr, hist_pins, hist_w = _histories(
        nb + np.searchsorted(user_ids, events.user), np.searchsorted(pin_ids, events.pin), events.ts,
        decayed_weights(events.code, events.ts, now, p.half_life_days, weight_table(p.event_weights)),
        n_pins, len(coll_ids), p.max_history,
    )  # fmt: skip
    meta: dict[str, Any] = {
        "events": len(events.ts),
        "board_pins": len(bp.pin),
        "events_until": float(events.ts.max()) if len(events.ts) else None,
        "decay_reference": now,
        "half_life_days": p.half_life_days,
        "prune_quantile": p.prune_quantile,
        "pruned_collections": len(pruned),
        "pruned_by": p.prune_feature if p.prune_feature in names else None,
        "max_pin_degree": int(np.diff(pin_indptr).max()) if n_pins else 0,
    }
    idx_t = np.int32 if len(e_coll) < 2**31 - 1 else np.int64
    return TasteGraph(
        pin_ids=pin_ids.astype(np.int64),
        coll_ids=coll_ids,
        coll_kind=coll_kind,
        pin_indptr=pin_indptr.astype(idx_t),
        pin_adj=e_coll[order].astype(np.int32),
        pin_wq=pack_nibbles(levels[order]),
        pin_maxw=_max_level(levels[order], pin_indptr),
        coll_indptr=coll_indptr.astype(idx_t),
        coll_adj=e_pin.astype(np.int32),
        coll_wq=pack_nibbles(levels),
        coll_maxw=_max_level(levels, coll_indptr),
        pin_feats=feats,
        hyg_indptr=hyg_indptr,
        hyg_pins=hyg_pins,
        hyg_flags=hyg_flags,
        hist_indptr=hist_indptr,
        hist_pins=hist_pins,
        hist_w=hist_w,
        features=vocab,
        meta=meta,
    )


def _check(events: EventArrays, bp: BoardPinArrays) -> None:
    n = len(events.user)
    if not (len(events.pin) == len(events.code) == len(events.ts) == n):
        raise InvalidInputError("event arrays have different lengths", "pass parallel arrays")
    if len(bp.board) != len(bp.pin) or len(bp.owner_board) != len(bp.owner_user):
        raise InvalidInputError("board arrays have different lengths", "pass parallel arrays")
    if n and int(events.code.max()) >= len(EVENT_CODES):
        raise InvalidInputError("unknown event code in events", "use graph.weights.EVENT_CODES")


def _indptr(sorted_rows: IntArray, n_rows: int, n: int) -> IntArray:
    counts = np.bincount(sorted_rows, minlength=n_rows) if n else np.zeros(n_rows, np.int64)
    out = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _max_level(levels: NDArray[np.uint8], indptr: IntArray) -> NDArray[np.uint8]:
    """Per node: its largest edge level, plus UNIFORM (16) when all its edges share that level."""
    out = np.zeros(len(indptr) - 1, dtype=np.uint8)
    nonempty = indptr[1:] > indptr[:-1]
    if len(levels):
        starts = indptr[:-1][nonempty]
        top = np.maximum.reduceat(levels, starts)
        low = np.minimum.reduceat(levels, starts)
        out[nonempty] = top | np.where(top == low, UNIFORM, 0).astype(np.uint8)
    return out


def _align_feats(pins: PinTable | None, pin_ids: IntArray) -> NDArray[np.int16]:
    if pins is None or pins.feats.size == 0:
        return np.full((len(pin_ids), max(len(pins.vocab) if pins else 0, 0)), -1, dtype=np.int16)
    if pins.feats.shape != (len(pins.ids), len(pins.vocab)):
        raise InvalidInputError(
            f"pin features have shape {pins.feats.shape}, expected {(len(pins.ids), len(pins.vocab))}",
            "pass one column per vocabulary",
        )
    out = np.full((len(pin_ids), pins.feats.shape[1]), -1, dtype=np.int16)
    out[np.searchsorted(pin_ids, pins.ids)] = pins.feats
    return out


def _high_entropy(e_coll: IntArray, cat: NDArray[np.int16], kind: NDArray[np.int8], p: BuildParams) -> IntArray:
    """Collections whose category entropy is above the prune quantile (boards with >= min degree)."""
    known = cat >= 0
    c, k = e_coll[known], cat[known].astype(np.int64)
    if not len(c):
        return np.zeros(0, np.int64)
    key = c * (int(k.max()) + 1) + k
    uk, counts = np.unique(key, return_counts=True)
    owner = uk // (int(k.max()) + 1)
    totals = np.bincount(owner, weights=counts)
    prob = counts / totals[owner]
    ent = np.bincount(owner, weights=-prob * np.log(prob))
    deg = np.bincount(owner, weights=counts)
    eligible = np.flatnonzero((deg >= p.min_prune_degree) & (kind[: len(deg)] == BOARD))
    if len(eligible) < 2:
        return np.zeros(0, np.int64)
    threshold = float(np.quantile(ent[eligible], p.prune_quantile))
    return eligible[ent[eligible] > threshold].astype(np.int64)


def _histories(
    coll: IntArray, pin: IntArray, ts: NDArray[np.float64], w: FloatArray, n_pins: int, n_colls: int, cap: int
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
    """Per user: pins with a positive summed weight, most recent engagement first, at most `cap`."""
    if not len(coll):
        return np.zeros(n_colls + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
    key = coll.astype(np.int64) * max(n_pins, 1) + pin
    uk, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=w, minlength=len(uk))
    last = np.full(len(uk), -np.inf)
    np.maximum.at(last, inv, ts)
    keep = total > 0
    uk, total, last = uk[keep], total[keep], last[keep]
    rows = uk // max(n_pins, 1)
    order = np.lexsort((-last, rows))  # by user, then most recent first
    rows, uk, total = rows[order], uk[order], total[order]
    starts = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - starts) < cap
    rows, uk, total = rows[keep], uk[keep], total[keep]
    return _indptr(rows, n_colls, len(rows)), (uk % max(n_pins, 1)).astype(np.int32), total.astype(np.float32)


def _hygiene(
    events: EventArrays, bp: BoardPinArrays, pin_ids: IntArray, user_ids: IntArray, nb: int, n_colls: int
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.uint8]]:
    """Per user: pins hidden (a hide later than any save), purchased, and saved (events or own boards)."""
    ev_user = nb + np.searchsorted(user_ids, events.user)
    ev_pin = np.searchsorted(pin_ids, events.pin)
    n_pins = max(len(pin_ids), 1)
    parts_key: list[IntArray] = []
    parts_flag: list[NDArray[np.uint8]] = []
    sel = np.isin(events.code, [_SAVE, _HIDE])
    if sel.any():
        # order by time so that the last of save/hide per (user, pin) decides whether the pin is hidden
        order = np.argsort(events.ts[sel], kind="stable")
        key = (ev_user[sel] * n_pins + ev_pin[sel])[order]
        code = events.code[sel][order]
        rev_key = key[::-1]
        uk, first_rev = np.unique(rev_key, return_index=True)
        last_code = code[::-1][first_rev]
        parts_key.append(uk)
        parts_flag.append(np.where(last_code == _HIDE, HIDDEN, SAVED).astype(np.uint8))
        saved_any = np.unique(key[code == _SAVE])
        parts_key.append(saved_any)
        parts_flag.append(np.full(len(saved_any), SAVED, np.uint8))
    buy = events.code == _BUY
    if buy.any():
        parts_key.append(ev_user[buy] * n_pins + ev_pin[buy])
        parts_flag.append(np.full(int(buy.sum()), PURCHASED, np.uint8))
    if len(bp.owner_board):
        owner_of = dict(zip(bp.owner_board.tolist(), bp.owner_user.tolist(), strict=True))
        owners = np.array([owner_of.get(b, -1) for b in bp.board.tolist()], dtype=np.int64)
        has = owners >= 0
        if has.any():
            u = nb + np.searchsorted(user_ids, owners[has])
            parts_key.append(u * n_pins + np.searchsorted(pin_ids, bp.pin[has]))
            parts_flag.append(np.full(int(has.sum()), SAVED, np.uint8))
    if not parts_key:
        return np.zeros(n_colls + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8)
    keys = np.concatenate(parts_key).astype(np.int64)
    flags = np.concatenate(parts_flag)
    uk, inv = np.unique(keys, return_inverse=True)
    merged = np.zeros(len(uk), dtype=np.uint8)
    np.bitwise_or.at(merged, inv, flags)
    # a pin hidden after its last save is not "saved" any more for filtering purposes
    merged[(merged & HIDDEN) > 0] &= ~np.uint8(SAVED)
    rows = uk // n_pins
    return _indptr(rows, n_colls, len(rows)), (uk % n_pins).astype(np.int32), merged


def edge_weight_arrays(graph: TasteGraph) -> tuple[IntArray, IntArray, FloatArray]:
    """Expand a graph back into (pin index, collection index, relative weight) edge arrays."""
    colls = np.repeat(np.arange(graph.n_colls), np.diff(np.asarray(graph.coll_indptr)))
    lv = level_values()[unpack_nibbles(np.asarray(graph.coll_wq), graph.n_edges)]
    return np.asarray(graph.coll_adj, dtype=np.int64), colls.astype(np.int64), lv
