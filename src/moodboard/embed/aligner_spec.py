"""The aligner's pure records: head shape and training settings, and what rebuilds trained heads.

Torch-free, so `heads.py` (the torch modules), `aligner.py` (inference and snapshot I/O) and
`align_training.py` all import it and the dependency runs one way: spec <- heads <- aligner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AlignerConfig:
    """Shape and training settings of the projection heads.

    Defaults were chosen on a validation split carved from the Myntra training items (never the test
    split): linear heads on the multi-layer features beat residual MLP heads (val text → image R@10
    0.931 vs 0.926) and two linear heads on last-layer features only (0.887); see BENCHMARKS.md.
    The category loss (weight 0.3 of 0 / 0.1 / 0.3 / 1.0: val R@10 0.920 / 0.922 / 0.923 / 0.914,
    "colour type" queries P@10 0.749 / 0.769 / 0.795 / 0.835) and the image-only block's weight 2.0
    (of 1 / 1.5 / 2 / 3, on clothing-small/validation photos → catalog) were chosen the same way.
    `refit`: checked inside the training split (a fifth held out, three seeds): heads retrained on all
    pairs for the whole schedule reached R@10 0.820 / 0.821 / 0.827 there, against 0.778 / 0.808 /
    0.802 for the early-stopped heads of the validated run.
    """

    dim: int = 192  # joint space; + image_extra_dims = 256 = the lite model's output dimension
    hidden: int = 512
    mlp: bool = False
    dropout: float = 0.1
    feature_dropout: float = 0.1
    feature_noise: float = 0.0
    epochs: int = 25
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    init_temperature: float = 0.07
    learn_temperature: bool = True
    hard_batch_fraction: float = 0.3
    category_loss_weight: float = 0.3  # auxiliary loss on the pins' categories (0 = off)
    category_temperature: float = 0.1
    primary_text_prob: float = 0.5
    val_fraction: float = 0.1
    patience: int = 6
    refit: bool = True  # after validating, retrain on every pair for the whole schedule and ship those heads
    image_extra_dims: int = 64
    image_extra_weight: float = 2.0
    image_extra_group: str = "head_avg"
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the config as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class AlignerSpec:
    """Everything needed to rebuild the heads: config, towers and input dims."""

    config: AlignerConfig
    image_tower: str
    text_tower: str
    image_dim: int
    text_dim: int
    metrics: dict[str, float] = field(default_factory=dict)
    image_extra: tuple[int, int] = (0, 0)

    @property
    def extra_dims(self) -> int:
        """Width of the image-only block (0 when the tower has no `config.image_extra_group`)."""
        start, end = self.image_extra
        return min(self.config.image_extra_dims, end - start) if end > start else 0


def extra_slice(groups: tuple[tuple[str, int], ...], name: str) -> tuple[int, int]:
    """Column range of feature group `name` in a tower's output, or (0, 0) when it has none."""
    start = 0
    for group, width in groups:
        if group == name:
            return start, start + width
        start += width
    return 0, 0
