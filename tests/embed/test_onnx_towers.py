"""The ONNX Runtime towers give the torch towers' features (same ids, so caches and aligners are shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

from moodboard.core.settings import EmbedSettings
from moodboard.embed.lite import lite_image_tower, lite_text_tower
from moodboard.embed.onnx_towers import OnnxLiteImageTower, OnnxMiniLMTextTower
from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home's snapshots folder; the exported models land in its sibling cache/onnx."""
    return tmp_path_factory.mktemp("home") / "snapshots"


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    out = [Image.fromarray(rng.integers(0, 255, (180, 140, 3), dtype=np.uint8))]
    white = np.full((200, 300, 3), 255, np.uint8)
    white[50:150, 100:200] = (200, 30, 40)  # a red block on white: exercises the colour histogram
    out.append(Image.fromarray(white))
    return out


def test_onnx_image_tower_matches_torch(snapshots: Path) -> None:
    onnx = lite_image_tower(EmbedSettings(runtime="onnx", device="cpu"), snapshots)
    assert isinstance(onnx, OnnxLiteImageTower) and onnx.path.is_file()
    ref = EfficientNetLiteTower()
    assert onnx.tower_id == ref.tower_id and onnx.dim == ref.dim
    batch = [ref.prepare(im) for im in _images()]
    a, b = ref.features(batch), onnx.features(batch)
    assert b.shape == a.shape == (2, ref.dim) and b.dtype == np.float32
    np.testing.assert_allclose(b, a, atol=1e-3, rtol=1e-3)
    assert onnx.features([]).shape == (0, ref.dim)
    again = lite_image_tower(EmbedSettings(runtime="onnx", device="cpu"), snapshots)
    assert again.path == onnx.path  # exported once, reused
    assert EmbedSettings().runtime == "onnx"  # the default: faster here and equal (BENCHMARKS.md, issue 15)


def test_onnx_text_tower_matches_torch_for_any_batch_and_length(snapshots: Path) -> None:
    onnx = lite_text_tower(EmbedSettings(runtime="onnx", device="cpu"), snapshots)
    assert isinstance(onnx, OnnxMiniLMTextTower)
    ref = MiniLMTextTower()
    texts = ["blue cotton shirt", "x", "a very long query about a ceramic mug with a handle " * 6]
    a, b = ref.features(texts), onnx.features(texts)
    np.testing.assert_allclose(b, a, atol=1e-4, rtol=1e-3)
    np.testing.assert_allclose(onnx.features(texts[:1]), a[:1], atol=1e-4, rtol=1e-3)


def test_torch_runtime_still_builds_torch_towers(snapshots: Path) -> None:
    assert isinstance(lite_image_tower(EmbedSettings(runtime="torch", device="cpu"), snapshots), EfficientNetLiteTower)


def test_a_server_workers_share_of_threads_reaches_the_runtime(snapshots: Path) -> None:
    # regression (issue 12): serving ran ONNX Runtime with its default pool (all cores, spinning between
    # calls), so each worker's idle runtime threads burned the other worker's core: 12 ms of CPU per query
    # text instead of 6
    one = lite_text_tower(EmbedSettings(runtime="onnx", device="cpu", threads=1), snapshots)
    opts = one.session.get_session_options()  # type: ignore[attr-defined]
    assert opts.intra_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    default = lite_text_tower(EmbedSettings(runtime="onnx", device="cpu"), snapshots)
    assert default.session.get_session_options().intra_op_num_threads == 0  # type: ignore[attr-defined]


def test_the_serving_runtime_sizes_the_model_threads_per_worker(tmp_path: Path) -> None:
    from moodboard.core.settings import load_settings
    from moodboard.core.sizing import torch_threads
    from moodboard.runtime import serving_embed_settings

    settings = load_settings(home=tmp_path / "home", serve={"workers": 2})
    served = serving_embed_settings(settings)
    assert served.threads == torch_threads(settings.serve) >= 1 and not served.feature_cache
    assert serving_embed_settings(load_settings(home=tmp_path / "home", embed={"threads": 3})).threads == 3
