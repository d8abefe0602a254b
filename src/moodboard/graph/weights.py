"""Edge weights of the taste graph: event type (save > click > view, hide negative) times time decay.

Weights are stored in the snapshot as 4-bit log-scale levels: level l in 1..15 stands for
2^((l - 15) / 2) times the largest weight, so 15 levels span a 128x range. Level 0 means "no edge".
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray
from moodboard.core.records import EVENT_WEIGHTS, EventType

EVENT_CODES: dict[EventType, int] = {
    EventType.VIEW: 0,
    EventType.CLICK: 1,
    EventType.SAVE: 2,
    EventType.HIDE: 3,
    EventType.PURCHASE: 4,
}
"""Compact uint8 code of each event type, used in event arrays."""

DEFAULT_EVENT_WEIGHTS: dict[EventType, float] = EVENT_WEIGHTS
"""Weight of one event of each type before decay: the one table in `core.records` (hide negative)."""

N_LEVELS = 15
LEVEL_STEP = 0.5  # log2 units per level


def weight_table(weights: dict[EventType, float] | None = None) -> FloatArray:
    """Return a float32 array indexed by event code giving each event type's weight."""
    w = DEFAULT_EVENT_WEIGHTS if weights is None else {**DEFAULT_EVENT_WEIGHTS, **weights}
    table = np.zeros(len(EVENT_CODES), dtype=np.float32)
    for etype, code in EVENT_CODES.items():
        table[code] = w[etype]
    return table


def decayed_weights(
    codes: NDArray[np.uint8],
    ts: NDArray[np.float64],
    now: float,
    half_life_days: float,
    table: FloatArray | None = None,
) -> FloatArray:
    """Weight each event by its type and halve it every `half_life_days` of age.

    Args:
        codes: (n,) event codes (see `EVENT_CODES`).
        ts: (n,) event times in seconds since the epoch.
        now: reference time in seconds; events after it count as age 0.
        half_life_days: age at which an event counts half.
        table: weights per code; `weight_table()` when None.

    Returns:
        (n,) float32 weights; negative for hides.
    """
    tbl = weight_table() if table is None else table
    age_days = np.maximum(now - ts, 0.0) / 86_400.0
    decay = np.exp2(-age_days / half_life_days)
    return (tbl[codes] * decay).astype(np.float32)


def quantize(weights: FloatArray) -> NDArray[np.uint8]:
    """Map positive weights to levels 1..15 relative to the largest one (log2 scale, 0.5 per level)."""
    w = np.asarray(weights, dtype=np.float64)
    if not len(w):
        return np.zeros(0, dtype=np.uint8)
    top = float(w.max())
    if top <= 0:
        return np.zeros(len(w), dtype=np.uint8)
    with np.errstate(divide="ignore"):
        rel = np.log2(np.maximum(w, 1e-30) / top) / LEVEL_STEP
    levels = np.clip(np.rint(rel) + N_LEVELS, 1, N_LEVELS).astype(np.uint8)
    levels[w <= 0] = 0
    return levels


def level_values() -> FloatArray:
    """Return the relative weight of each level 0..15 (level 0 is 0)."""
    vals = np.exp2((np.arange(N_LEVELS + 1) - N_LEVELS) * LEVEL_STEP).astype(np.float32)
    vals[0] = 0.0
    return vals


def pack_nibbles(levels: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Pack 4-bit levels two per byte (element i lives in byte i // 2, low nibble when i is even)."""
    n = len(levels)
    padded = np.zeros(n + (n & 1), dtype=np.uint8)
    padded[:n] = levels & 0x0F
    return (padded[0::2] | (padded[1::2] << 4)).astype(np.uint8)


def unpack_nibbles(packed: NDArray[np.uint8], n: int) -> NDArray[np.uint8]:
    """Inverse of `pack_nibbles` for the first n elements."""
    out = np.empty(2 * len(packed), dtype=np.uint8)
    out[0::2] = packed & 0x0F
    out[1::2] = packed >> 4
    return out[:n]
