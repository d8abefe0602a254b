"""Frozen-tower features with the content-hash cache in front: compute only what was never seen."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.embed.feature_cache import FeatureCache, text_hash

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.embed.towers import ImageTower, TextTower


def image_digest(image: Image.Image) -> str:
    """Return a content hash of the decoded pixels (mode, size and bytes), independent of file format."""
    h = hashlib.sha256(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def _cached(
    tower_id: str,
    dim: int,
    digests: Sequence[str],
    compute: Callable[[list[int]], FloatArray],
    cache: FeatureCache | None,
) -> tuple[FloatArray, int]:
    """Fill an (n, dim) array from the cache and `compute(missing_positions)`; return it and #computed."""
    out = np.zeros((len(digests), dim), dtype=np.float32)
    found = cache.get_many(tower_id, digests) if cache is not None else {}
    missing = [i for i, d in enumerate(digests) if d not in found]
    for i, d in enumerate(digests):
        if d in found:
            out[i] = found[d]
    if missing:
        fresh = compute(missing)  # (len(missing), dim)
        out[missing] = fresh
        if cache is not None:
            cache.put_many(tower_id, ((digests[i], fresh[j]) for j, i in enumerate(missing)))
    return out, len(missing)


def prepared_image_features(
    tower: ImageTower,
    prepared: Sequence[FloatArray],
    digests: Sequence[str],
    cache: FeatureCache | None = None,
) -> tuple[FloatArray, int]:
    """Features for already-prepared inputs, using the cache; returns ((n, dim), number computed)."""
    return _cached(tower.tower_id, tower.dim, digests, lambda idx: tower.features([prepared[i] for i in idx]), cache)


def image_features(tower: ImageTower, images: Sequence[Image.Image], cache: FeatureCache | None = None) -> FloatArray:
    """Return (n, tower.dim) features of decoded images, reusing cached ones by pixel hash."""
    digests = [image_digest(im) for im in images]
    feats, _ = _cached(
        tower.tower_id,
        tower.dim,
        digests,
        lambda idx: tower.features([tower.prepare(images[i]) for i in idx]),
        cache,
    )
    return feats


def text_features(
    tower: TextTower, texts: Sequence[str], cache: FeatureCache | None = None, batch_size: int = 256
) -> FloatArray:
    """Return (n, tower.dim) features of texts, reusing cached ones by text hash."""

    def compute(idx: list[int]) -> FloatArray:
        parts = [tower.features([texts[i] for i in idx[s : s + batch_size]]) for s in range(0, len(idx), batch_size)]
        return np.concatenate(parts, axis=0)

    feats, _ = _cached(tower.tower_id, tower.dim, [text_hash(t) for t in texts], compute, cache)
    return feats
