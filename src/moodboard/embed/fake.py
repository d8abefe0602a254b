"""A deterministic fake embedder for unit tests, registered through the real factory as `fake`.

Texts embed by hashing their lower-cased words into a fixed random projection (so texts sharing words
are close); images embed from a coarse colour layout. Same input, same vector, on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.embed.embedder import check_texts, normalise_rows

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.core.settings import EmbedSettings


def _word_vector(word: str, dim: int) -> FloatArray:
    seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class FakeEmbedder:
    """Deterministic, dependency-free embedder with the real interface."""

    def __init__(self, dim: int = 32) -> None:
        """Create a fake that outputs `dim`-dimensional vectors."""
        self.dim = dim
        self.model_id = f"fake:v1:{dim}"
        rng = np.random.default_rng(1234)
        self._pixel_proj = rng.standard_normal((4 * 4 * 3, dim)).astype(np.float32)

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        """Sum of per-word hash vectors, normalised; (n, dim)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(check_texts(texts)):
            for word in text.lower().split():
                out[i] += _word_vector(word, self.dim)
        return normalise_rows(out)

    def embed_images(self, images: Sequence[Image.Image]) -> FloatArray:
        """Project a 4x4 RGB thumbnail of each image; (n, dim)."""
        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        thumbs = np.stack(
            [np.asarray(im.convert("RGB").resize((4, 4)), dtype=np.float32).ravel() / 255.0 for im in images]
        )  # (n, 48)
        return normalise_rows(((thumbs - 0.5) @ self._pixel_proj).astype(np.float32))


def create_fake(settings: EmbedSettings, snapshots_dir: Path) -> FakeEmbedder:
    """Factory of the `fake` backend (uses `settings.dim`)."""
    return FakeEmbedder(dim=settings.dim)
