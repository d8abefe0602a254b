"""Contrastive training of the aligner heads on cached frozen features (pure: arrays in, heads out).

Improvements over two plain linear heads, each checked on a validation split carved from the training
items (never the test split): multi-layer tower features, residual MLP heads, a learned temperature,
several text variants per item (title, full description, "colour category"), feature dropout/noise as
augmentation over cached features, hard-negative batches drawn from one category, and items with the
same title counted as positives of each other (Myntra repeats titles across colourways).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.embed.aligner import Aligner, build_heads
from moodboard.embed.aligner_spec import AlignerConfig, AlignerSpec, extra_slice
from moodboard.embed.photo_block import PhotoBlockConfig, PhotoSet, fit_photo_block

if TYPE_CHECKING:
    import torch

    from moodboard.embed.heads import AlignerHeads

ProgressFn = Callable[[int, int, dict[str, float]], None]
"""Called as progress(epoch, epochs, metrics) after each epoch."""


@dataclass
class TrainingData:
    """Frozen features of n (image, text) pairs.

    Attributes:
        images: (n, image_dim) image tower features.
        texts: text variants, each (n, text_dim); `texts[0]` is the title, the query-like text.
        groups: (n,) ids; items with the same id (e.g. the same title) are positives of each other.
        strata: (n,) category ids used to build hard-negative batches, or None.
        labels: (n,) category ids for the category loss (-1 = unknown); None = use `strata`.
        photos: labelled people's photos (allowed category ids as columns); when given, the image-only
            block is fitted on them and the catalog (`photo_block`) instead of by PCA.
    """

    images: FloatArray
    texts: Sequence[FloatArray]
    groups: IntArray
    strata: IntArray | None = None
    labels: IntArray | None = None
    photos: PhotoSet | None = None


@dataclass
class TrainingResult:
    """The trained aligner, its per-epoch history and the split it was validated on.

    With `AlignerConfig.refit`, `aligner` was retrained on every pair (validation items included) and
    `validated` holds the heads trained without the validation items: make choices on those.
    """

    aligner: Aligner
    history: list[dict[str, float]] = field(default_factory=list)
    train_idx: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_idx: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    validated: Aligner | None = None


def recall_at_k(queries: FloatArray, gallery: FloatArray, k: int = 10) -> float:
    """Fraction of query i whose own gallery item i is in its top-k by dot product."""
    scores = queries @ gallery.T  # (n, n)
    own = np.diag(scores)[:, None]
    rank = (scores > own).sum(axis=1)  # items strictly better than the own one
    return float((rank < k).mean())


def _validate(data: TrainingData) -> int:
    n = data.images.shape[0]
    if n < 4:
        raise InvalidInputError(f"need at least 4 (image, text) pairs to train the aligner, got {n}")
    if not data.texts or any(t.shape[0] != n for t in data.texts) or data.groups.shape[0] != n:
        raise InvalidInputError("images, every text variant and groups must have the same length")
    return n


def _batches(
    idx: IntArray, strata: IntArray | None, batch_size: int, hard: bool, rng: np.random.Generator
) -> list[IntArray]:
    """Random batches; when `hard`, items of one stratum are kept together (hard negatives)."""
    order = rng.permutation(idx)
    if hard and strata is not None:
        keys = rng.permutation(int(strata.max()) + 1)[strata[order]]  # random order of strata
        order = order[np.argsort(keys, kind="stable")]
        # cut into batches, then shuffle the batches so strata do not come in a fixed sequence
        cut = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
        return [cut[i] for i in rng.permutation(len(cut))]
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


def _fit_extra_block(heads: AlignerHeads, images: FloatArray, spec: AlignerSpec) -> None:
    """PCA of the L2-normalised raw image group on training images -> the image-only block."""
    import torch

    start, end = spec.image_extra
    raw = images[:, start:end].astype(np.float64)
    raw /= np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    mean = raw.mean(axis=0)
    _, _, vt = np.linalg.svd(raw - mean, full_matrices=False)  # rows of vt: principal directions
    proj = np.zeros((end - start, spec.extra_dims))  # (width, k); zero columns when n < k
    m = min(spec.extra_dims, vt.shape[0])
    proj[:, :m] = vt[:m].T
    heads.extra_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
    heads.extra_proj.copy_(torch.from_numpy(np.ascontiguousarray(proj, dtype=np.float32)))


def _fit_photo_block(heads: AlignerHeads, data: TrainingData, train_idx: IntArray, spec: AlignerSpec) -> None:
    """The image-only block learnt from labelled photos and the catalog's categories (photo domain adapter)."""
    import torch

    assert data.photos is not None
    start, end = spec.image_extra
    labels = data.labels if data.labels is not None else data.strata
    if labels is None:
        raise InvalidInputError("photos need catalog categories to align with", "give the pins a category")
    mean, proj = fit_photo_block(
        data.images[train_idx, start:end],
        np.asarray(labels, dtype=np.int64)[train_idx],
        data.photos.images[:, start:end],
        data.photos.allowed,
        spec.extra_dims,
        PhotoBlockConfig(seed=spec.config.seed),
    )
    heads.extra_mean.copy_(torch.from_numpy(mean))
    heads.extra_proj.copy_(torch.from_numpy(proj))


def contrastive_loss(logits: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over (B, B) text-by-image logits with multi-positive targets.

    Items with the same group id are positives of each other (a uniform target over them), so an item
    that shares its title with another is not pushed away from that other's image.
    """
    pos = (groups[:, None] == groups[None, :]).float()  # (B, B)
    target = pos / pos.sum(1, keepdim=True)
    loss_t = -(target * logits.log_softmax(1)).sum(1).mean()
    loss_i = -(target * logits.T.log_softmax(1)).sum(1).mean()
    return (loss_t + loss_i) / 2


def category_loss(z: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of unit vectors (B, d) against cosine class prototypes (C, d): groups a category.

    An auxiliary loss for both heads when the pairs carry a category (the operator's own labels), so
    that images and texts of one category gather in the joint space, not only exact pairs.
    """
    import torch

    logits = z @ torch.nn.functional.normalize(prototypes, dim=-1).T / temperature  # (B, C)
    return torch.nn.functional.cross_entropy(logits, labels)


def train_aligner(
    data: TrainingData,
    config: AlignerConfig,
    *,
    image_tower: str,
    text_tower: str,
    image_groups: tuple[tuple[str, int], ...] = (),
    progress: ProgressFn | None = None,
) -> TrainingResult:
    """Train image and text heads with a symmetric multi-positive InfoNCE loss.

    A `config.val_fraction` of the items is held out for early stopping on text → image Recall@10.
    Without `config.refit` the returned heads are those of the best validation epoch; with it, heads
    retrained on every item for all `config.epochs` (the validation figures stay in the metrics).
    """
    import torch

    n = _validate(data)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    perm = rng.permutation(n)
    n_val = round(n * config.val_fraction) if n >= 20 else 0
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])

    spec = AlignerSpec(
        config=config,
        image_tower=image_tower,
        text_tower=text_tower,
        image_dim=int(data.images.shape[1]),
        text_dim=int(data.texts[0].shape[1]),
        image_extra=extra_slice(image_groups, config.image_extra_group) if config.image_extra_dims else (0, 0),
    )
    heads = build_heads(spec)
    if spec.extra_dims and data.photos is not None:
        _fit_photo_block(heads, data, train_idx, spec)
    elif spec.extra_dims:
        _fit_extra_block(heads, data.images[train_idx], spec)
    img_all = torch.from_numpy(np.ascontiguousarray(data.images, dtype=np.float32))  # (n, Di)
    txt_all = torch.from_numpy(np.stack([np.asarray(t, dtype=np.float32) for t in data.texts]))  # (V, n, Dt)
    tr = torch.from_numpy(train_idx)
    heads.image.set_standardisation(img_all[tr].mean(0), img_all[tr].std(0))
    txt_tr = txt_all[:, tr].reshape(-1, txt_all.shape[-1])  # (V * n_train, Dt)
    heads.text.set_standardisation(txt_tr.mean(0), txt_tr.std(0))
    groups = torch.from_numpy(np.asarray(data.groups, dtype=np.int64))

    steps_per_epoch = max(1, int(np.ceil(len(train_idx) / config.batch_size)))
    opt = torch.optim.AdamW(heads.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * steps_per_epoch
    warmup = max(1, total_steps // 20)

    def lr_factor(step: int) -> float:  # linear warm-up, then cosine decay to 0
        return min(1.0, (step + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))

    raw_labels = data.labels if data.labels is not None else data.strata
    use_categories = config.category_loss_weight > 0 and raw_labels is not None and bool((raw_labels >= 0).any())
    labels = torch.from_numpy(np.asarray(raw_labels if use_categories else np.zeros(n), dtype=np.int64))
    protos = torch.nn.Parameter(0.01 * torch.randn(int(labels.max()) + 1, config.dim))  # training only
    if use_categories:
        opt.add_param_group({"params": [protos], "weight_decay": 0.0})
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    n_var = txt_all.shape[0]
    var_p = np.full(n_var, (1 - config.primary_text_prob) / max(1, n_var - 1))
    var_p[0] = config.primary_text_prob if n_var > 1 else 1.0

    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    history: list[dict[str, float]] = []
    stale = 0
    for epoch in range(config.epochs):
        heads.train()
        hard = rng.random() < config.hard_batch_fraction
        losses = []
        for batch in _batches(train_idx, data.strata, config.batch_size, hard, rng):
            if len(batch) < 2:
                continue
            b = torch.from_numpy(batch)
            variant = torch.from_numpy(rng.choice(n_var, size=len(batch), p=var_p))
            x_img = img_all[b]  # (B, Di)
            x_txt = txt_all[variant, b]  # (B, Dt)
            if config.feature_noise > 0:
                x_img = x_img + config.feature_noise * heads.image.std * torch.randn_like(x_img)
                x_txt = x_txt + config.feature_noise * heads.text.std * torch.randn_like(x_txt)
            zi, zt = heads.image(x_img), heads.text(x_txt)  # (B, d) each
            loss = contrastive_loss(heads.scale() * zt @ zi.T, groups[b])  # logits (B, B): text x image
            if use_categories:
                t = config.category_temperature
                known = labels[b] >= 0
                if known.any():
                    y = labels[b][known]
                    aux = category_loss(zi[known], y, protos, t) + category_loss(zt[known], y, protos, t)
                    loss = loss + config.category_loss_weight * aux / 2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        metrics = {"epoch": float(epoch + 1), "loss": float(np.mean(losses)) if losses else 0.0}
        metrics["temperature"] = float(1.0 / heads.scale().detach())
        if n_val:
            aligner = Aligner(spec, heads)
            zi_val = aligner.project_images(data.images[val_idx])
            zt_val = aligner.project_texts(data.texts[0][val_idx])
            metrics["val_recall_at_10"] = recall_at_k(zt_val, zi_val, 10)
            metrics["val_recall_at_1"] = recall_at_k(zt_val, zi_val, 1)
            score = metrics["val_recall_at_10"]
        else:
            score = -metrics["loss"]
        history.append(metrics)
        if progress is not None:
            progress(epoch + 1, config.epochs, metrics)
        if score > best[0] or not best[1]:
            best = (score, {k: v.detach().clone() for k, v in heads.state_dict().items()})
            stale = 0
        else:
            stale += 1
            if config.patience and stale >= config.patience:
                break
    heads.load_state_dict(best[1])
    final = dict(history[-1]) if history else {}
    if n_val:
        final["best_val_recall_at_10"] = best[0]
    spec = AlignerSpec(
        config=config,
        image_tower=image_tower,
        text_tower=text_tower,
        image_dim=spec.image_dim,
        text_dim=spec.text_dim,
        metrics=final,
        image_extra=spec.image_extra,
    )
    validated = TrainingResult(Aligner(spec, heads), history, train_idx.astype(np.int64), val_idx.astype(np.int64))
    if not (config.refit and n_val):
        return validated
    return _refit(data, validated, image_groups=image_groups, progress=progress)


def _refit(
    data: TrainingData,
    validated: TrainingResult,
    *,
    image_groups: tuple[tuple[str, int], ...],
    progress: ProgressFn | None,
) -> TrainingResult:
    """Retrain on every item for the whole schedule; keep the validated run's figures and heads beside."""
    spec = validated.aligner.spec
    done = len(validated.history)
    total = done + spec.config.epochs

    def refit_progress(epoch: int, _epochs: int, metrics: dict[str, float]) -> None:
        if progress is not None:
            progress(done + epoch, total, {**metrics, "refit": 1.0})

    full = train_aligner(
        data,
        replace(spec.config, val_fraction=0.0, patience=0, refit=False),
        image_tower=spec.image_tower,
        text_tower=spec.text_tower,
        image_groups=image_groups,
        progress=refit_progress,
    )
    metrics = {**spec.metrics, "refit_items": float(data.images.shape[0]), "refit_epochs": float(len(full.history))}
    final_spec = replace(spec, metrics=metrics)
    return TrainingResult(
        Aligner(final_spec, full.aligner.heads),
        validated.history + [{**h, "refit": 1.0} for h in full.history],
        validated.train_idx,
        validated.val_idx,
        validated=validated.aligner,
    )
