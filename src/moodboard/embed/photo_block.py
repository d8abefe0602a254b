"""Photo domain adapter for the image-only block: learn it from labelled people's photos and the catalog.

Without photos the image-only block is a PCA of a raw tower group (`align_training._fit_extra_block`),
which keeps the packshot domain's main directions. People's photos (backgrounds, folds, bodies) then
land near the wrong products. Given photos labelled with the catalog categories they may show (a
folder of photos → the catalog categories it shows), this fits the same block, a linear map of the L2-normalised
raw group, with a cosine classifier over the catalog's categories: catalog images learn their own
category (cross-entropy), photos learn "any of the allowed categories" (the log of the summed
probability of that set). Both image kinds share the map, so a photo and the packshots of its
category meet in the block. Nothing changes at query time or in the snapshot format: the result goes
into the block's `extra_mean` / `extra_proj` buffers. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError


@dataclass
class PhotoSet:
    """Labelled photos: tower features (m, image_dim) and allowed categories (m, n_categories) as bools."""

    images: FloatArray
    allowed: NDArray[np.bool_]


@dataclass(frozen=True)
class PhotoBlockConfig:
    """Training settings of the photo-adapted block (chosen on clothing-small/validation, BENCHMARKS.md)."""

    photo_weight: float = 1.0  # loss weight of the photos against the catalog images
    epochs: int = 30
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    feature_dropout: float = 0.2
    scale: float = 4.0  # inverse temperature of the cosine classifier (16 with smoothing 0.1: 0.800)
    label_smoothing: float = 0.0
    seed: int = 0


def fit_photo_block(
    raw: FloatArray,
    labels: IntArray,
    photos_raw: FloatArray,
    allowed: NDArray[np.bool_],
    dims: int,
    config: PhotoBlockConfig | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Fit the block on catalog images and labelled photos.

    Args:
        raw: (n, w) raw tower group of catalog images (any scale; rows are L2-normalised here).
        labels: (n,) category code per catalog image, -1 = unknown (left out of the loss).
        photos_raw: (m, w) the same group for the photos.
        allowed: (m, C) which category codes each photo may show; every row needs one True.
        dims: width of the block.
        config: training settings.

    Returns:
        (mean (w,), proj (w, dims)): the block is normalise((normalise(raw) - mean) @ proj).
    """
    import torch
    from torch import nn

    cfg = config or PhotoBlockConfig()
    n_cat = allowed.shape[1]
    if photos_raw.shape[0] != allowed.shape[0] or photos_raw.shape[0] == 0:
        raise InvalidInputError(f"need photos with one label row each, got {photos_raw.shape[0]} / {allowed.shape[0]}")
    if not allowed.any(axis=1).all():
        raise InvalidInputError("every photo needs at least one allowed catalog category")
    if labels.shape[0] != raw.shape[0] or (labels >= n_cat).any():
        raise InvalidInputError("catalog labels must be one code per image, below the number of categories")
    torch.manual_seed(cfg.seed)
    cat = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    pho = photos_raw / np.maximum(np.linalg.norm(photos_raw, axis=1, keepdims=True), 1e-12)
    both = np.concatenate([cat, pho]).astype(np.float64)
    mean, std = both.mean(axis=0), both.std(axis=0) + 1e-6
    known = labels >= 0
    xc = torch.from_numpy(((cat[known] - mean) / std).astype(np.float32))
    yc = torch.from_numpy(labels[known].astype(np.int64))
    xp = torch.from_numpy(((pho - mean) / std).astype(np.float32))
    mp = torch.from_numpy(allowed.astype(bool))
    proj = nn.Linear(raw.shape[1], dims, bias=False)
    protos = nn.Parameter(0.1 * torch.randn(n_cat, dims))
    drop = nn.Dropout(cfg.feature_dropout)
    opt = torch.optim.AdamW([*proj.parameters(), protos], lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps = max(1, -(-max(len(xc), 1) // cfg.batch_size))
    photo_batch = max(1, -(-len(xp) // steps))  # spread the photos over the catalog batches
    for _ in range(cfg.epochs):
        cat_batches = torch.randperm(len(xc), generator=gen).split(cfg.batch_size) if len(xc) else [None] * steps
        photo_batches = torch.randperm(len(xp), generator=gen).split(photo_batch)
        for i, bc in enumerate(cat_batches):
            bp = photo_batches[i % len(photo_batches)]
            p_norm = nn.functional.normalize(protos, dim=-1)  # (C, dims)
            loss = torch.zeros(())
            if bc is not None:
                logits = cfg.scale * nn.functional.normalize(proj(drop(xc[bc])), dim=-1) @ p_norm.T  # (B, C)
                loss = loss + nn.functional.cross_entropy(logits, yc[bc], label_smoothing=cfg.label_smoothing)
            logp = (cfg.scale * nn.functional.normalize(proj(drop(xp[bp])), dim=-1) @ p_norm.T).log_softmax(-1)
            loss = loss - cfg.photo_weight * logp.masked_fill(~mp[bp], -1e9).logsumexp(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    weight = proj.weight.detach().numpy().T.astype(np.float64) / std[:, None]  # fold the standardisation in
    return mean.astype(np.float32), np.ascontiguousarray(weight, dtype=np.float32)
