"""Aligner training and snapshots, on synthetic features with an obvious answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.embed.align_training import TrainingData, recall_at_k, train_aligner
from moodboard.embed.aligner import Aligner, AlignerConfig, load_current_aligner
from moodboard.jobs.align_job import write_aligner


def _synthetic(n: int = 240, seed: int = 0) -> TrainingData:
    """Image and text features are two different random linear views (plus noise) of one latent."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 12))
    images = latent @ rng.standard_normal((12, 40)) + 0.05 * rng.standard_normal((n, 40))
    texts = latent @ rng.standard_normal((12, 30)) + 0.05 * rng.standard_normal((n, 30))
    return TrainingData(images.astype(np.float32), [texts.astype(np.float32)], np.arange(n, dtype=np.int64))


CFG = AlignerConfig(dim=16, hidden=32, epochs=40, batch_size=64, lr=3e-3, val_fraction=0.2, patience=0)


def test_training_aligns_held_out_pairs() -> None:
    data = _synthetic()
    res = train_aligner(data, replace(CFG, refit=False), image_tower="i", text_tower="t")
    val = res.val_idx
    zi = res.aligner.project_images(data.images[val])
    zt = res.aligner.project_texts(data.texts[0][val])
    # chance would be 10 / 48; a linear relation must be learnt almost perfectly
    assert recall_at_k(zt, zi, 10) >= 0.9
    assert res.aligner.spec.metrics["best_val_recall_at_10"] >= 0.9
    assert len(res.history) == CFG.epochs and res.validated is None
    assert set(res.train_idx).isdisjoint(set(res.val_idx))


def test_refit_retrains_on_every_pair_and_keeps_the_validated_heads() -> None:
    data = _synthetic()
    validated_only = train_aligner(data, replace(CFG, refit=False), image_tower="i", text_tower="t")
    res = train_aligner(data, CFG, image_tower="i", text_tower="t")
    assert res.validated is not None
    # the validated run is the same as without refit; the shipped heads are new ones trained on all pairs
    x = data.images[res.val_idx]
    np.testing.assert_array_equal(res.validated.project_images(x), validated_only.aligner.project_images(x))
    assert not np.allclose(res.aligner.project_images(x), res.validated.project_images(x))
    metrics = res.aligner.spec.metrics
    assert metrics["refit_items"] == data.images.shape[0] and metrics["refit_epochs"] == CFG.epochs
    assert metrics["best_val_recall_at_10"] == validated_only.aligner.spec.metrics["best_val_recall_at_10"]
    assert len(res.history) == 2 * CFG.epochs and all(h.get("refit") == 1.0 for h in res.history[CFG.epochs :])
    zi, zt = res.aligner.project_images(data.images), res.aligner.project_texts(data.texts[0])
    assert recall_at_k(zt, zi, 10) >= 0.9


def test_same_seed_same_heads() -> None:
    data = _synthetic(80)
    cfg = AlignerConfig(dim=8, hidden=16, epochs=3, batch_size=32, val_fraction=0.0)
    a = train_aligner(data, cfg, image_tower="i", text_tower="t").aligner
    b = train_aligner(data, cfg, image_tower="i", text_tower="t").aligner
    np.testing.assert_array_equal(a.project_images(data.images), b.project_images(data.images))


def test_save_load_roundtrip(tmp_path: Path) -> None:
    data = _synthetic(64)
    cfg = AlignerConfig(dim=8, hidden=16, epochs=2, batch_size=32, val_fraction=0.0)
    aligner = train_aligner(data, cfg, image_tower="i", text_tower="t").aligner
    folder = write_aligner(tmp_path, aligner, {"note": "x"})
    loaded = load_current_aligner(tmp_path, "i", "t")
    assert loaded.version == folder.name and loaded.spec.config == cfg
    np.testing.assert_allclose(loaded.project_texts(data.texts[0]), aligner.project_texts(data.texts[0]), atol=1e-6)
    with pytest.raises(SnapshotError, match="features of width"):
        loaded.project_images(np.zeros((2, 7), dtype=np.float32))
    (folder / "heads.pt").write_bytes(b"garbage")
    with pytest.raises(SnapshotError, match="unreadable"):
        Aligner.load(folder)


def test_too_few_pairs_or_ragged_input() -> None:
    with pytest.raises(InvalidInputError, match="at least 4"):
        train_aligner(_synthetic(3), CFG, image_tower="i", text_tower="t")
    bad = _synthetic(10)
    bad.texts = [bad.texts[0][:5]]
    with pytest.raises(InvalidInputError, match="same length"):
        train_aligner(bad, CFG, image_tower="i", text_tower="t")


def test_same_title_items_are_not_negatives() -> None:
    """Items sharing a title (Myntra repeats titles across colourways) are positives of each other.

    When two same-title texts score both twin images equally, that is optimal if they are grouped
    (no gradient) but is pushed apart when each twin counts as the other's negative.
    """
    import torch

    from moodboard.embed.align_training import contrastive_loss

    def grad_norm(groups: list[int]) -> float:
        logits = torch.tensor([[12.0, 12.0, 0.0], [12.0, 12.0, 0.0], [0.0, 0.0, 12.0]], requires_grad=True)
        contrastive_loss(logits, torch.tensor(groups)).backward()
        assert logits.grad is not None
        return float(logits.grad.norm())

    assert grad_norm([0, 0, 2]) < 1e-3
    assert grad_norm([0, 1, 2]) > 0.1
    aligned = contrastive_loss(torch.eye(3) * 20, torch.tensor([0, 1, 2]))
    assert float(aligned) < 1e-6


def test_image_only_block_keeps_text_ranking() -> None:
    """The image-only block (PCA of a raw image group) changes image→image, never text→image ranks."""
    data = _synthetic(120)
    groups = (("a", 30), ("raw", 10))
    base = AlignerConfig(dim=8, hidden=16, epochs=3, batch_size=32, val_fraction=0.0, image_extra_dims=0)
    plain = train_aligner(data, base, image_tower="i", text_tower="t", image_groups=groups).aligner
    cfg = AlignerConfig(
        dim=8, hidden=16, epochs=3, batch_size=32, val_fraction=0.0, image_extra_dims=4, image_extra_group="raw"
    )
    block = train_aligner(data, cfg, image_tower="i", text_tower="t", image_groups=groups).aligner
    assert plain.dim == 8 and block.dim == 12 and block.spec.image_extra == (30, 40)
    zi, zt = block.project_images(data.images), block.project_texts(data.texts[0])
    np.testing.assert_allclose(np.linalg.norm(zi, axis=1), 1.0, atol=1e-5)
    assert np.all(zt[:, 8:] == 0)
    pi, pt = plain.project_images(data.images), plain.project_texts(data.texts[0])
    # same seed, same joint heads: text→image orders agree exactly, the block only rescales scores
    np.testing.assert_array_equal(np.argsort(-(zt @ zi.T), axis=1), np.argsort(-(pt @ pi.T), axis=1))
    # image→image now also sees the raw group
    assert not np.allclose(zi @ zi.T, (pi @ pi.T) / np.sqrt(2))


def test_category_loss_trains_and_round_trips(tmp_path: Path) -> None:
    """With the category loss on, heads still learn the pairs and survive save/load."""
    data = _synthetic()
    data.strata = (np.arange(len(data.groups)) % 4).astype(np.int64)
    cfg = AlignerConfig(
        dim=16, hidden=32, epochs=40, batch_size=64, lr=3e-3, val_fraction=0.2, patience=0,
        category_loss_weight=0.3, image_extra_dims=0,
    )  # fmt: skip
    res = train_aligner(data, cfg, image_tower="i", text_tower="t")
    assert res.aligner.spec.metrics["best_val_recall_at_10"] >= 0.9
    folder = write_aligner(tmp_path, res.aligner, {})
    loaded = load_current_aligner(tmp_path, "i", "t")
    assert loaded.spec.config.category_loss_weight == 0.3 and loaded.version == folder.name
    np.testing.assert_allclose(loaded.project_images(data.images), res.aligner.project_images(data.images), atol=1e-6)


def test_category_loss_groups_a_category() -> None:
    """Unit vectors at their class prototype score a low loss; at another class's, a high one."""
    import torch

    from moodboard.embed.align_training import category_loss

    protos = torch.eye(3)
    labels = torch.tensor([0, 1, 2])
    assert float(category_loss(torch.eye(3), labels, protos, 0.1)) < 1e-3
    assert float(category_loss(torch.eye(3)[[1, 2, 0]], labels, protos, 0.1)) > 5


def test_snapshot_from_before_the_category_loss_still_loads(tmp_path: Path) -> None:
    """Older snapshots have no category-loss fields in their config (training-only settings)."""
    import json

    data = _synthetic(64)
    cfg = AlignerConfig(dim=8, hidden=16, epochs=2, batch_size=32, val_fraction=0.0)
    aligner = train_aligner(data, cfg, image_tower="i", text_tower="t").aligner
    folder = write_aligner(tmp_path, aligner, {})
    meta = json.loads((folder / "aligner.json").read_text())
    for key in ("category_loss_weight", "category_temperature"):
        meta["config"].pop(key)
    (folder / "aligner.json").write_text(json.dumps(meta))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("files", None)  # such old snapshots were also written before manifests carried checksums
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_current_aligner(tmp_path, "i", "t")
    np.testing.assert_allclose(loaded.project_texts(data.texts[0]), aligner.project_texts(data.texts[0]), atol=1e-6)
