"""The same contract checks on every Embedder backend: fake, open_clip (tiny local model), lite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.core.settings import EmbedSettings
from moodboard.embed import Embedder, make_embedder

from .conftest import make_image

BACKENDS = ["fake", "open_clip", "lite"]


@pytest.fixture(scope="module", params=BACKENDS)
def embedder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """Build each backend through the real factory."""
    name = request.param
    if name == "fake":
        return make_embedder(EmbedSettings(backend="fake", dim=24), tmp_path_factory.mktemp("snap"))
    if name == "open_clip":
        folder: Path = request.getfixturevalue("tiny_open_clip_dir")
        settings = EmbedSettings(backend="open_clip", checkpoint=str(folder), device="cpu", feature_cache=False)
        return make_embedder(settings, tmp_path_factory.mktemp("snap"))
    snapshots: Path = request.getfixturevalue("lite_snapshots")
    return make_embedder(EmbedSettings(backend="lite", device="cpu", batch_size=4), snapshots)


IMAGES: list[Callable[[], Image.Image]] = [
    lambda: make_image("red", "circle"),
    lambda: make_image("blue", "square", (64, 128)),
    lambda: make_image("green", "circle", (300, 200)),
    lambda: Image.new("L", (40, 40), 128),  # greyscale input must work too
    lambda: Image.new("RGBA", (50, 30), (10, 200, 10, 128)),
]
TEXTS = ["red circle", "a blue square on white", "", "zebra print maxi dress ✨", "green"]


def _check_vectors(x: np.ndarray, n: int, dim: int) -> None:
    assert x.shape == (n, dim)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)


def test_is_an_embedder(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.model_id, str) and embedder.model_id
    assert embedder.dim > 0


def test_image_shapes_dtype_norm(embedder: Embedder) -> None:
    _check_vectors(embedder.embed_images([f() for f in IMAGES]), len(IMAGES), embedder.dim)


def test_text_shapes_dtype_norm(embedder: Embedder) -> None:
    out = embedder.embed_texts(TEXTS)
    assert out.shape == (len(TEXTS), embedder.dim) and out.dtype == np.float32
    nonempty = [i for i, t in enumerate(TEXTS) if t]
    np.testing.assert_allclose(np.linalg.norm(out[nonempty], axis=1), 1.0, atol=1e-4)


def test_empty_batches(embedder: Embedder) -> None:
    assert embedder.embed_images([]).shape == (0, embedder.dim)
    assert embedder.embed_texts([]).shape == (0, embedder.dim)


def test_deterministic(embedder: Embedder) -> None:
    imgs = [f() for f in IMAGES[:3]]
    np.testing.assert_array_equal(embedder.embed_images(imgs), embedder.embed_images(imgs))
    np.testing.assert_array_equal(embedder.embed_texts(TEXTS), embedder.embed_texts(TEXTS))


def test_batch_equals_single(embedder: Embedder) -> None:
    imgs = [f() for f in IMAGES]
    batch = embedder.embed_images(imgs)
    single = np.concatenate([embedder.embed_images([im]) for im in imgs])
    np.testing.assert_allclose(batch, single, atol=2e-5)
    tb = embedder.embed_texts(TEXTS)
    ts = np.concatenate([embedder.embed_texts([t]) for t in TEXTS])
    np.testing.assert_allclose(tb, ts, atol=2e-5)


def test_different_inputs_differ(embedder: Embedder) -> None:
    a, b = embedder.embed_images([make_image("red", "circle"), make_image("blue", "square")])
    assert not np.allclose(a, b)
    ta, tb = embedder.embed_texts(["red circle", "blue square"])
    assert not np.allclose(ta, tb)
