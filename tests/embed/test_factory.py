"""The embedder factory and registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodboard.core.errors import ConfigError
from moodboard.core.settings import EmbedSettings
from moodboard.embed import backends, make_embedder, register_backend
from moodboard.embed.fake import FakeEmbedder


def test_builtin_backends_registered() -> None:
    assert {"lite", "open_clip", "fake"} <= set(backends())


def test_unknown_backend(tmp_path: Path) -> None:
    settings = EmbedSettings(backend="nope")
    with pytest.raises(ConfigError, match=r"unknown embedding backend .*set MOODBOARD_EMBED__BACKEND to one of"):
        make_embedder(settings, tmp_path)


def test_register_custom_backend(tmp_path: Path) -> None:
    # review §1.9: the setting was a Literal, so a registered backend could never be selected
    register_backend("tiny-fake", lambda s, d: FakeEmbedder(dim=8))
    settings = EmbedSettings(backend="tiny-fake")
    emb = make_embedder(settings, tmp_path)
    assert emb.dim == 8
    assert emb.embed_texts(["x"]).shape == (1, 8)


def test_fake_is_meaningful() -> None:
    emb = FakeEmbedder(dim=64)
    a, b, c = emb.embed_texts(["red summer dress", "red dress", "steel kitchen knife"])
    assert float(a @ b) > float(a @ c)
    assert np.isclose(np.linalg.norm(a), 1.0)
