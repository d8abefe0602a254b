"""Fixtures for embedding tests: generated images, a tiny open_clip checkpoint, a tiny trained aligner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "black": (15, 15, 15),
    "purple": (140, 40, 170),
}
SHAPES = ("circle", "square")


def make_image(colour: str, shape: str, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A white canvas with one coloured shape: the answer to 'what is this' is obvious."""
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    box = (size[0] // 5, size[1] // 5, size[0] * 4 // 5, size[1] * 4 // 5)
    if shape == "circle":
        draw.ellipse(box, fill=COLOURS[colour])
    else:
        draw.rectangle(box, fill=COLOURS[colour])
    return img


@pytest.fixture(scope="session")
def shape_pairs() -> list[tuple[Image.Image, str]]:
    """12 (image, caption) pairs: every colour x shape."""
    return [(make_image(c, s), f"{c} {s}") for c in COLOURS for s in SHAPES]


@pytest.fixture(scope="session")
def tiny_open_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random open_clip model saved in the local-dir layout (no download)."""
    import open_clip
    import torch

    from moodboard.embed.open_clip_backend import save_open_clip_folder

    torch.manual_seed(0)
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    model = open_clip.CLIP(**cfg)
    return save_open_clip_folder(model, cfg, tmp_path_factory.mktemp("openclip") / "tiny-clip")


@pytest.fixture(scope="session")
def lite_snapshots(tmp_path_factory: pytest.TempPathFactory, shape_pairs: list[tuple[Image.Image, str]]) -> Path:
    """A snapshots folder holding a tiny aligner trained on the real frozen lite towers."""
    import torch

    from moodboard.embed.align_training import TrainingData, train_aligner
    from moodboard.embed.aligner import AlignerConfig
    from moodboard.embed.features import image_features, text_features
    from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower
    from moodboard.jobs.align_job import write_aligner

    torch.set_num_threads(1)
    itower, ttower = EfficientNetLiteTower(), MiniLMTextTower()
    imgs = image_features(itower, [im for im, _ in shape_pairs])
    txts = text_features(ttower, [t for _, t in shape_pairs])
    cfg = AlignerConfig(
        dim=32, hidden=64, epochs=30, batch_size=12, lr=3e-3, val_fraction=0.0, patience=0, image_extra_dims=8
    )
    groups = np.arange(len(shape_pairs), dtype=np.int64)
    result = train_aligner(
        TrainingData(imgs, [txts], groups),
        cfg,
        image_tower=itower.tower_id,
        text_tower=ttower.tower_id,
        image_groups=itower.groups,
    )
    root = tmp_path_factory.mktemp("home") / "snapshots"
    write_aligner(root, result.aligner, {"purpose": "test"})
    return root
