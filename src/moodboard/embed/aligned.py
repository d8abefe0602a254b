"""An embedder made of two frozen towers, an optional aligner on top, and the feature cache.

`lite` always uses an aligner (its towers live in different spaces); `open_clip` uses one only when a
domain adapter was trained for it. Towers load on first use, so a text-only server never loads the
image network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.embed.embedder import check_texts, normalise_rows
from moodboard.embed.features import image_features, text_features

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.embed.aligner import Aligner
    from moodboard.embed.feature_cache import FeatureCache
    from moodboard.embed.towers import ImageTower, TextTower


class TowerEmbedder:
    """Embedder = frozen image tower + frozen text tower (+ aligner heads), batch first."""

    def __init__(
        self,
        model_id: str,
        dim: int,
        image_tower: Callable[[], ImageTower],
        text_tower: Callable[[], TextTower],
        aligner: Aligner | None = None,
        cache: FeatureCache | None = None,
        batch_size: int = 64,
    ) -> None:
        """Wire the parts; towers are given as loaders and built on first use."""
        self.model_id = model_id
        self.dim = dim
        self.aligner = aligner
        self.cache = cache
        self.batch_size = batch_size
        self._image_loader, self._text_loader = image_tower, text_tower
        self._image: ImageTower | None = None
        self._text: TextTower | None = None
        self._lock = threading.Lock()

    @property
    def image_tower(self) -> ImageTower:
        """The frozen image tower (loaded once, on first access, by one thread)."""
        if self._image is None:
            with self._lock:
                if self._image is None:
                    self._image = self._image_loader()
        return self._image

    @property
    def text_tower(self) -> TextTower:
        """The frozen text tower (loaded once, on first access, by one thread).

        Regression: without the lock, the first burst of a fresh server's requests each loaded the model
        (22 loads of 4 s of CPU were seen in one worker under 8 connections)."""
        if self._text is None:
            with self._lock:
                if self._text is None:
                    self._text = self._text_loader()
        return self._text

    def project_image_features(self, feats: FloatArray) -> FloatArray:
        """Map (n, tower dim) image features to (n, dim) unit vectors."""
        if self.aligner is not None:
            return self.aligner.project_images(feats)
        return normalise_rows(feats)

    def project_text_features(self, feats: FloatArray) -> FloatArray:
        """Map (n, tower dim) text features to (n, dim) unit vectors."""
        if self.aligner is not None:
            return self.aligner.project_texts(feats)
        return normalise_rows(feats)

    def embed_images(self, images: Sequence[Image.Image]) -> FloatArray:
        """Embed decoded images in batches of `batch_size`; (n, dim)."""
        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        tower = self.image_tower
        parts = [
            image_features(tower, images[s : s + self.batch_size], self.cache)
            for s in range(0, len(images), self.batch_size)
        ]
        return self.project_image_features(np.concatenate(parts, axis=0))

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        """Embed texts in batches of `batch_size`; (n, dim)."""
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        feats = text_features(self.text_tower, items, self.cache, batch_size=self.batch_size)
        return self.project_text_features(feats)
