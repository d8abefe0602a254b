"""Torch modules of the aligner: one projection head per tower and a learned temperature.

Imported only by code that trains or runs the aligner, so `import moodboard.embed` stays light.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from moodboard.embed.aligner_spec import AlignerConfig, AlignerSpec


class ProjectionHead(nn.Module):
    """Standardise → linear map (+ a residual MLP when `cfg.mlp`) → L2 normalise."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, d_in: int, cfg: AlignerConfig) -> None:
        """Build a head from `d_in` frozen features to `cfg.dim`."""
        super().__init__()
        self.register_buffer("mean", torch.zeros(d_in))
        self.register_buffer("std", torch.ones(d_in))
        self.in_drop = nn.Dropout(cfg.feature_dropout)
        self.linear = nn.Linear(d_in, cfg.dim)
        self.mlp: nn.Module | None = None
        if cfg.mlp:
            self.mlp = nn.Sequential(
                nn.Linear(d_in, cfg.hidden),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden, cfg.dim),
            )

    def set_standardisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the per-feature mean and std of the training features."""
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (B, d_in) features to (B, dim) unit vectors."""
        z = self.in_drop((x - self.mean) / self.std)  # (B, d_in)
        out = self.linear(z)  # (B, dim)
        if self.mlp is not None:
            out = out + self.mlp(z)  # (B, dim)
        return nn.functional.normalize(out, dim=-1)


class AlignerHeads(nn.Module):
    """The `image` and `text` heads plus `log_scale`, the log inverse temperature of the loss."""

    extra_mean: torch.Tensor
    extra_proj: torch.Tensor

    def __init__(self, spec: AlignerSpec) -> None:
        """Build untrained heads for the tower widths in `spec`."""
        super().__init__()
        cfg = spec.config
        self.image = ProjectionHead(spec.image_dim, cfg)
        self.text = ProjectionHead(spec.text_dim, cfg)
        init = torch.tensor(math.log(1.0 / cfg.init_temperature))
        self.log_scale = nn.Parameter(init, requires_grad=cfg.learn_temperature)
        start, end = spec.image_extra
        # PCA of the raw image group for the image-only block (fitted on training images, never trained)
        self.register_buffer("extra_mean", torch.zeros(end - start))
        self.register_buffer("extra_proj", torch.zeros(end - start, spec.extra_dims))

    def scale(self) -> torch.Tensor:
        """Inverse temperature, clipped at 100 as in CLIP."""
        return self.log_scale.exp().clamp(max=100.0)
