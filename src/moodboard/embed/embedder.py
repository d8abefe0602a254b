"""The `Embedder` interface and the factory that builds a backend from `EmbedSettings`.

Backends register a factory under a name (`register_backend`); the built-in ones (`lite`, `open_clip`,
`fake`) are registered lazily, so their heavy imports happen only when one is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import ConfigError, InvalidInputError

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.core.settings import EmbedSettings


@runtime_checkable
class Embedder(Protocol):
    """Maps images and texts into one space; outputs are (n, dim) float32 with unit L2 norm."""

    model_id: str
    dim: int

    def embed_images(self, images: Sequence[Image.Image]) -> FloatArray:
        """Embed decoded images; returns (n, dim)."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> FloatArray:
        """Embed texts; returns (n, dim)."""
        ...


EmbedderFactory = Callable[["EmbedSettings", Path], Embedder]
"""Builds an embedder from its settings section and the snapshots folder."""

_REGISTRY: dict[str, EmbedderFactory] = {}


def register_backend(name: str, factory: EmbedderFactory) -> None:
    """Register (or replace) the factory of backend `name`."""
    _REGISTRY[name] = factory


def _lazy(module: str, attr: str) -> EmbedderFactory:
    """A factory that imports `module.attr` on first call, so registration costs nothing."""

    def factory(settings: EmbedSettings, snapshots_dir: Path) -> Embedder:
        real: EmbedderFactory = getattr(importlib.import_module(module), attr)
        return real(settings, snapshots_dir)

    return factory


register_backend("lite", _lazy("moodboard.embed.lite", "create_lite"))
register_backend("open_clip", _lazy("moodboard.embed.open_clip_backend", "create_open_clip"))
register_backend("fake", _lazy("moodboard.embed.fake", "create_fake"))


def backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_REGISTRY)


def make_embedder(settings: EmbedSettings, snapshots_dir: Path) -> Embedder:
    """Build the embedder named by `settings.backend`.

    Raises:
        ConfigError: the backend is unknown.
        SnapshotError: the backend needs a snapshot (e.g. lite's aligner) that does not exist yet.
    """
    try:
        factory = _REGISTRY[settings.backend]
    except KeyError:
        raise ConfigError(
            f"unknown embedding backend {settings.backend!r}",
            f"set MOODBOARD_EMBED__BACKEND to one of {', '.join(backends())}",
        ) from None
    return factory(settings, snapshots_dir)


def normalise_rows(x: FloatArray) -> FloatArray:
    """Return float32 rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate a batch of query texts (strings, not all blank) and return it as a list.

    Raises:
        InvalidInputError: an entry is not a string.
    """
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise InvalidInputError(f"texts must be strings, got {type(t).__name__}", "pass str values")
    return out
