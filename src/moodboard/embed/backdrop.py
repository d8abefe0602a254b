"""Is a photo one object on a plain backdrop (a product shot), or a scene? A cheap test on its border.

A product photographed on a studio sweep, a table or a wall has a border of one colour; a room, a
street or a person's outfit photographed where they stand does not. The test looks only at the outer
ring of a small copy of the photo (about a millisecond), so a server can decide before it runs the
region proposer (hundreds of milliseconds) whether a photo is worth answering region by region.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SIDE = 96
"""Longest side of the copy the test looks at."""
RING = 0.06
"""Width of the border ring, as a share of each side."""
TOLERANCE = 24
"""Largest per-channel difference (0-255) from the ring's median colour that still counts as backdrop."""
SHARE = 0.85
"""Share of the ring that must be backdrop for the photo to be one object on a plain backdrop."""


def plain_backdrop(image: Any, share: float = SHARE, tolerance: int = TOLERANCE) -> bool:
    """Whether a decoded image (PIL) shows its subject on a plain backdrop: most of its border ring is
    one colour. Tiny or degenerate images count as plain (there is no scene to split)."""
    small = image.convert("RGB").copy()
    small.thumbnail((SIDE, SIDE))
    rgb = np.asarray(small, dtype=np.int16)  # (H, W, 3)
    h, w = rgb.shape[:2]
    r = max(1, round(RING * min(h, w)))
    if h <= 2 * r or w <= 2 * r:
        return True
    ring = np.concatenate(
        [rgb[:r].reshape(-1, 3), rgb[-r:].reshape(-1, 3), rgb[r:-r, :r].reshape(-1, 3), rgb[r:-r, -r:].reshape(-1, 3)]
    )  # (N, 3)
    median = np.median(ring, axis=0)
    near = (np.abs(ring - median) <= tolerance).all(axis=1)
    return float(near.mean()) >= share
