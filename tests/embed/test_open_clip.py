"""open_clip backend: real loading code on a tiny local model, errors, and the adapter on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.core.errors import ConfigError, SnapshotError
from moodboard.core.settings import EmbedSettings
from moodboard.embed import make_embedder
from moodboard.embed.aligned import TowerEmbedder


def test_loads_local_dir_and_file(tiny_open_clip_dir: Path, tmp_path: Path) -> None:
    by_dir = make_embedder(EmbedSettings(backend="open_clip", checkpoint=str(tiny_open_clip_dir)), tmp_path)
    assert by_dir.dim == 16 and by_dir.model_id.startswith("open_clip:local:tiny-clip:")
    # the same weights as a file for a registered architecture name
    import open_clip

    open_clip.add_model_config(tiny_open_clip_dir / "arch")  # missing folder: no-op scan
    weights = tiny_open_clip_dir / "open_clip_pytorch_model.bin"
    with pytest.raises(SnapshotError, match="cannot load open_clip model"):
        make_embedder(EmbedSettings(backend="open_clip", model="no-such-arch", checkpoint=str(weights)), tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        make_embedder(EmbedSettings(backend="open_clip", checkpoint=str(tmp_path / "missing.pt")), tmp_path)


def test_image_and_text_in_one_space(tiny_open_clip_dir: Path, tmp_path: Path) -> None:
    emb = make_embedder(EmbedSettings(backend="open_clip", checkpoint=str(tiny_open_clip_dir)), tmp_path)
    zi = emb.embed_images([Image.new("RGB", (40, 40), (255, 0, 0))])
    zt = emb.embed_texts(["a red square"])
    assert zi.shape == zt.shape == (1, 16)


def test_adapter_on_top_of_open_clip(tiny_open_clip_dir: Path, tmp_path: Path) -> None:
    """The LiT aligner trains on open_clip's frozen features too (domain fine-tuning)."""
    from moodboard.embed.align_training import TrainingData, train_aligner
    from moodboard.embed.aligner import AlignerConfig
    from moodboard.embed.open_clip_backend import open_clip_towers
    from moodboard.jobs.align_job import write_aligner

    base = EmbedSettings(backend="open_clip", checkpoint=str(tiny_open_clip_dir), feature_cache=False)
    snaps = tmp_path / "snapshots"
    with pytest.raises(SnapshotError, match="moodboard train align"):
        make_embedder(base.model_copy(update={"open_clip_adapter": True}), snaps)
    itower, ttower = open_clip_towers(base)
    rng = np.random.default_rng(0)
    colours = [tuple(int(v) for v in rng.integers(0, 255, 3)) for _ in range(16)]
    images = [Image.new("RGB", (40, 40), c) for c in colours]
    texts = [f"colour {i}" for i in range(16)]
    feats_i = itower.features([itower.prepare(im) for im in images])
    feats_t = ttower.features(texts)
    cfg = AlignerConfig(dim=8, hidden=32, epochs=5, batch_size=8, val_fraction=0.0, patience=0)
    res = train_aligner(
        TrainingData(feats_i, [feats_t], np.arange(16, dtype=np.int64)),
        cfg,
        image_tower=itower.tower_id,
        text_tower=ttower.tower_id,
    )
    write_aligner(snaps, res.aligner, {})
    emb = make_embedder(base.model_copy(update={"open_clip_adapter": True}), snaps)
    assert isinstance(emb, TowerEmbedder) and emb.aligner is not None
    assert emb.dim == 8 and "+aligner:" in emb.model_id
    out = emb.embed_images(images[:2])
    assert out.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
