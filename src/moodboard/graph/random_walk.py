"""Pixie random walks with restart (Eksombatchai et al., WWW 2018), compiled with numba.

From each query pin q the walk alternates pin -> collection -> pin and restarts at q after a
geometrically distributed number of steps. The step budget of q grows with its degree
(s_q = d_q * (C - log d_q), Pixie eq. 2), neighbours are drawn by edge weight (rejection sampling on the
4-bit levels) and biased toward pins that match the user's features, the walk of q stops early once n_p
pins have n_v visits, and visit counts of the query pins are combined by multi-hit boosting
V(p) = (sum_q sqrt(V_q(p)))^2. The same seed gives the same result on any thread.

Speed: `lanes` walks from the same query pin advance in lock-step, so the cache misses of their steps
overlap (random numbers are drawn before the loads, and the common fast path is written inline).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, Int32Array
from moodboard.core.errors import InvalidInputError
from moodboard.graph.csr import TasteGraph
from moodboard.graph.weights import LEVEL_STEP

_MAX_TRIES = 8
_MAX_WALK = 64
LANES = 16  # walks interleaved per query pin (memory-level parallelism)
_LEVEL_STEP = LEVEL_STEP


@dataclass(frozen=True)
class OverlayArrays:
    """Edges added after the snapshot, as small CSRs addressed through slot maps (-1 = none)."""

    pin_slot: Int32Array
    pin_ptr: NDArray[np.int64]
    pin_adj: Int32Array
    coll_slot: Int32Array
    coll_ptr: NDArray[np.int64]
    coll_adj: Int32Array
    n_pins: int
    n_colls: int

    @classmethod
    def empty(cls, graph: TasteGraph) -> OverlayArrays:
        """An overlay with no edges."""
        z32, zptr = np.zeros(0, np.int32), np.zeros(1, np.int64)
        return cls(z32, zptr, z32, z32, zptr, z32, graph.n_pins, graph.n_colls)


@dataclass(frozen=True)
class FeatureBias:
    """Preferred feature codes per feature column; a pin matching none is kept with prob 1 - strength."""

    preferred: NDArray[np.uint8]  # (F, V) 1 where code v of feature f is preferred
    active: NDArray[np.uint8]  # (F,) 1 where the user has a preference on feature f
    strength: float = 0.5


@dataclass(frozen=True)
class WalkResult:
    """Visited pins with boosted scores and, per pin, the query (index) and collection that led to it."""

    pins: Int32Array
    scores: FloatArray
    query: Int32Array
    via: Int32Array
    steps: int


@njit(nogil=True, cache=True, inline="always")
def _level(packed: NDArray[np.uint8], e: int) -> int:
    b = packed[e >> 1]
    return int((b >> 4) if (e & 1) else (b & 15))


@njit(nogil=True, cache=True, inline="always")
def _pick(
    node: int,
    n_base: int,
    indptr: Any,
    adj: Any,
    wq: Any,
    maxw: Any,
    ov_slot: Any,
    ov_ptr: Any,
    ov_adj: Any,
    accept: Any,
) -> int:
    """Draw a neighbour of `node` with probability proportional to its edge weight; -1 if none."""
    lo = 0
    base = 0
    if node < n_base:
        lo = indptr[node]
        base = indptr[node + 1] - lo
    ov_lo = 0
    ov = 0
    if node < len(ov_slot) and ov_slot[node] >= 0:
        s = ov_slot[node]
        ov_lo = ov_ptr[s]
        ov = ov_ptr[s + 1] - ov_lo
    d = base + ov
    if d == 0:
        return -1
    top = maxw[node] if node < n_base else 15
    if top & 16:  # UNIFORM: all snapshot edges weigh the same, so no weight lookup is needed
        j = np.random.randint(0, d)
        return adj[lo + j] if j < base else ov_adj[ov_lo + j - base]
    j = 0
    for t in range(_MAX_TRIES):
        j = np.random.randint(0, d)
        if j >= base:
            return ov_adj[ov_lo + j - base]  # fresh overlay edges carry the top level
        gap = top - _level(wq, lo + j)
        if gap <= 0 or t == _MAX_TRIES - 1 or np.random.random() < accept[gap]:
            return adj[lo + j]
    return adj[lo + j]


@njit(nogil=True, cache=True, inline="always")
def _matches(p: int, n_base: int, feats: Any, pref: Any, active: Any) -> bool:
    if p >= n_base:
        return True
    for f in range(len(active)):
        if active[f]:
            c = feats[p, f]
            if c >= 0 and (c >= pref.shape[1] or pref[f, c] == 0):
                return False
    return True


@njit(nogil=True, cache=True)
def _pixie(
    g: Any,
    ov: Any,
    feats: Any,
    pref: Any,
    active: Any,
    bias: float,
    skip_coll: int,
    queries: Any,
    budgets: Any,
    restart: float,
    n_p: int,
    n_v: int,
    seed: int,
    scratch: Any,
    out_pin: Any,
    out_score: Any,
    out_q: Any,
    out_via: Any,
    n_lanes: int,
) -> tuple[int, int]:
    (pin_indptr, pin_adj, pin_wq, pin_maxw, coll_indptr, coll_adj, coll_wq, coll_maxw, np_base, nc_base) = g
    (ov_pin_slot, ov_pin_ptr, ov_pin_adj, ov_coll_slot, ov_coll_ptr, ov_coll_adj) = ov
    # one 32-byte record per pin keeps everything a visit touches in one cache line:
    # rec[p] = (visits, via, _, _, best query, its via, _, _), recf[p, 2] = boosted sum, recf[p, 3] = best
    rec, recf, touched_q, touched_all = scratch
    np.random.seed(seed)
    accept = np.exp2(-_LEVEL_STEP * np.arange(16.0))  # acceptance by level gap
    log_stay = math.log(1.0 - restart)
    any_bias = bias > 0.0 and active.sum() > 0
    # n_lanes walks advance in lock-step, one step each per round: their memory loads are independent,
    # so the CPU overlaps the cache misses that dominate a step on a large graph
    cur = np.zeros(n_lanes, np.int64)
    left = np.zeros(n_lanes, np.int64)
    coll = np.zeros(n_lanes, np.int64)
    nxt = np.zeros(n_lanes, np.int64)
    u1 = np.zeros(n_lanes, np.float64)
    u2 = np.zeros(n_lanes, np.float64)
    n_all = 0
    total = 0
    for qi in range(len(queries)):
        q = queries[qi]
        budget = budgets[qi]
        n_q = 0
        high = 0
        steps = 0
        lanes = min(n_lanes, max(budget, 1))
        left[:] = 0
        stuck = 0
        while steps < budget and high < n_p and stuck < lanes * _MAX_TRIES:
            # random numbers first: drawing them never waits on a memory load, so the lanes' loads overlap
            for k in range(lanes):  # restart finished walks at the query pin (geometric lengths)
                if left[k] <= 0:
                    cur[k] = q
                    n = 1 + int(math.log(1.0 - np.random.random()) / log_stay)
                    left[k] = n if n < _MAX_WALK else _MAX_WALK
                u1[k] = np.random.random()
                u2[k] = np.random.random()
            # the fast paths (snapshot nodes with uniform weights and no overlay edges) are written out
            # here rather than called: passing arrays to a helper costs reference counting on every step
            for k in range(lanes):
                node = cur[k]
                if node < np_base and pin_maxw[node] & 16 and (node >= len(ov_pin_slot) or ov_pin_slot[node] < 0):
                    lo = pin_indptr[node]
                    c = pin_adj[lo + int(u1[k] * (pin_indptr[node + 1] - lo))]
                else:
                    c = _pick(node, np_base, pin_indptr, pin_adj, pin_wq, pin_maxw,
                              ov_pin_slot, ov_pin_ptr, ov_pin_adj, accept)  # fmt: skip
                if c == skip_coll and c >= 0:  # the requesting user's own history only leads back to itself
                    c = _pick(node, np_base, pin_indptr, pin_adj, pin_wq, pin_maxw,
                              ov_pin_slot, ov_pin_ptr, ov_pin_adj, accept)  # fmt: skip
                    c = -2 if c == skip_coll else c
                coll[k] = c
            for k in range(lanes):
                c = coll[k]
                p = -1
                if c >= 0:
                    if c < nc_base and coll_maxw[c] & 16 and (c >= len(ov_coll_slot) or ov_coll_slot[c] < 0):
                        lo = coll_indptr[c]
                        p = coll_adj[lo + int(u2[k] * (coll_indptr[c + 1] - lo))]
                    else:
                        p = _pick(c, nc_base, coll_indptr, coll_adj, coll_wq, coll_maxw,
                                  ov_coll_slot, ov_coll_ptr, ov_coll_adj, accept)  # fmt: skip
                    if any_bias:
                        for _t in range(_MAX_TRIES - 1):
                            if p < 0 or _matches(p, np_base, feats, pref, active) or np.random.random() >= bias:
                                break
                            p = _pick(c, nc_base, coll_indptr, coll_adj, coll_wq, coll_maxw,
                                      ov_coll_slot, ov_coll_ptr, ov_coll_adj, accept)  # fmt: skip
                nxt[k] = p
            for k in range(lanes):
                c = coll[k]
                p = nxt[k]
                if c == -2:  # drew the user's own node twice: spend the step and restart
                    steps += 1
                    left[k] = 0
                    if steps >= budget:
                        break
                    continue
                if p < 0:  # dead end: restart; a query pin that cannot move at all ends its walk
                    stuck += 1 if cur[k] == q else 0
                    left[k] = 0
                    continue
                stuck = 0
                steps += 1
                # branch-free bookkeeping: a branch on a value still in flight from memory would
                # serialise the lanes whenever it is mispredicted
                seen = rec[p, 0]
                touched_q[n_q] = p
                n_q += seen == 0
                rec[p, 0] = seen + 1
                rec[p, 1] = c
                high += seen + 1 == n_v
                cur[k] = p
                left[k] -= 1
                if steps >= budget:
                    break
        total += steps
        for i in range(n_q):  # multi-hit boosting: accumulate sqrt of per-query visits
            p = touched_q[i]
            v = math.sqrt(rec[p, 0])
            if recf[p, 2] == 0.0:
                touched_all[n_all] = p
                n_all += 1
            recf[p, 2] += v
            if v > recf[p, 3]:
                recf[p, 3] = v
                rec[p, 4] = qi
                rec[p, 5] = rec[p, 1]
            rec[p, 0] = 0
    for i in range(n_all):
        p = touched_all[i]
        out_pin[i] = p
        out_score[i] = recf[p, 2] * recf[p, 2]
        out_q[i] = rec[p, 4]
        out_via[i] = rec[p, 5]
        recf[p, 2] = 0.0
        recf[p, 3] = 0.0
    return n_all, total


def step_budgets(
    degrees: NDArray[np.int64], weights: NDArray[np.floating[Any]], total: int, max_degree: int
) -> NDArray[np.int64]:
    """Split `total` steps over query pins by weight and degree: s_q = d_q (C - log d_q) (Pixie eq. 2)."""
    d = np.asarray(degrees, dtype=np.float64)
    c = math.log(max(max_degree, 1)) + 1.0
    s = np.where(d > 0, d * (c - np.log(np.maximum(d, 1.0))), 0.0) * np.maximum(weights, 0.0)
    if s.sum() <= 0:
        return np.zeros(len(d), dtype=np.int64)
    share = np.floor(total * s / s.sum()).astype(np.int64)
    return np.where(s > 0, np.maximum(share, 1), 0)


class PixieWalker:
    """Runs Pixie walks on one graph; thread-safe, with per-thread scratch buffers."""

    def __init__(self, graph: TasteGraph) -> None:
        """Wrap `graph` (arrays may be memory-mapped)."""
        self.graph = graph
        self._g = (
            np.asarray(graph.pin_indptr),
            np.asarray(graph.pin_adj),
            np.asarray(graph.pin_wq),
            np.asarray(graph.pin_maxw),
            np.asarray(graph.coll_indptr),
            np.asarray(graph.coll_adj),
            np.asarray(graph.coll_wq),
            np.asarray(graph.coll_maxw),
            graph.n_pins,
            graph.n_colls,
        )
        self._feats = np.asarray(graph.pin_feats)
        if self._feats.shape[1] == 0:
            self._feats = np.full((1, 1), -1, dtype=np.int16)
        self._local = threading.local()
        self.max_degree = int(graph.meta.get("max_pin_degree") or max(int(np.diff(self._g[0]).max(initial=0)), 1))

    def _scratch(self, n_pins: int, steps: int) -> tuple[Any, ...]:
        """Per-thread buffers: node-sized ones (kept zeroed between calls) and step-sized touch lists."""
        nodes = getattr(self._local, "nodes", None)
        if nodes is None or len(nodes[0]) < n_pins:
            # 32-byte visit records (see _pixie); np.full writes every page now, not on the first request
            rec = np.full((max(n_pins, 1), 8), 0, np.int32)
            nodes = (rec, rec.view(np.float32))
            self._local.nodes = nodes
        touch = getattr(self._local, "touch", None)
        if touch is None or len(touch[0]) < steps + 1:
            m = max(steps + 1, 1024)
            touch = (np.full(m, 0, np.int32), np.full(m, 0, np.int32))
            self._local.touch = touch
        return (*nodes, *touch)

    def walk(
        self,
        queries: Int32Array,
        weights: FloatArray,
        *,
        steps: int,
        restart: float,
        n_p: int,
        n_v: int,
        seed: int,
        bias: FeatureBias | None = None,
        overlay: OverlayArrays | None = None,
        degrees: NDArray[np.int64] | None = None,
        skip_coll: int = -1,
        lanes: int = LANES,
    ) -> WalkResult:
        """Walk from weighted query pins (graph indices) and return every visited pin with its score.

        `skip_coll` names a collection the walk avoids (the requesting user's own node): a step that
        draws it draws once more and ends the walk if it draws it again. `lanes` walks from the same
        query pin run interleaved (1 = one after another, the plain loop; results differ only by the
        order in which random numbers are drawn).

        Raises:
            InvalidInputError: on empty or mismatched queries, or out-of-range parameters.
        """
        q = np.ascontiguousarray(queries, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float64)
        n_pins = overlay.n_pins if overlay else self.graph.n_pins
        if len(q) == 0 or len(q) != len(w):
            raise InvalidInputError("a walk needs one weight per query pin and at least one", "pass pins")
        if (q < 0).any() or (q >= n_pins).any():
            raise InvalidInputError("query pin index out of range", "map ids with graph.pin_index first")
        if not 0.0 < restart < 1.0 or steps < 1 or n_p < 1 or n_v < 1 or lanes < 1:
            raise InvalidInputError("walk parameters out of range", "0 < restart < 1; steps, n_p, n_v >= 1")
        deg = degrees if degrees is not None else self.graph.pin_degree(np.minimum(q, self.graph.n_pins - 1))
        deg = np.where(q < self.graph.n_pins, deg, 0)
        if overlay is not None:
            deg = deg + _overlay_degree(overlay, q)
        budgets = step_budgets(deg, w, steps, self.max_degree)
        total = int(budgets.sum())
        scratch = self._scratch(n_pins, total)
        ov = overlay or OverlayArrays.empty(self.graph)
        ov_t = (ov.pin_slot, ov.pin_ptr, ov.pin_adj, ov.coll_slot, ov.coll_ptr, ov.coll_adj)
        if bias is None:
            pref, active, strength = np.zeros((1, 1), np.uint8), np.zeros(1, np.uint8), 0.0
        else:
            pref, active, strength = bias.preferred, bias.active, float(bias.strength)
        out_pin = np.empty(total + 1, np.int32)
        out_score = np.empty(total + 1, np.float32)
        out_q = np.empty(total + 1, np.int32)
        out_via = np.empty(total + 1, np.int32)
        n, taken = _pixie(
            self._g, ov_t, self._feats, pref, active, strength, int(skip_coll), q, budgets, float(restart),
            int(n_p), int(n_v), int(seed) & 0x7FFFFFFF, scratch, out_pin, out_score, out_q, out_via, int(lanes),
        )  # fmt: skip
        return WalkResult(out_pin[:n], out_score[:n], out_q[:n], out_via[:n], int(taken))


def _overlay_degree(ov: OverlayArrays, q: NDArray[np.int64]) -> NDArray[np.int64]:
    out = np.zeros(len(q), dtype=np.int64)
    inside = q < len(ov.pin_slot)
    slots = np.full(len(q), -1, dtype=np.int64)
    slots[inside] = ov.pin_slot[q[inside]]
    has = slots >= 0
    out[has] = ov.pin_ptr[slots[has] + 1] - ov.pin_ptr[slots[has]]
    return out
