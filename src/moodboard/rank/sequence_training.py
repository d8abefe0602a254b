"""Training loop of the sequence model: cropped batches of engagement sequences, AdamW, early stopping.

Sequences are item indices (1..n_items, 0 = padding) in engagement order, one array per user. Each epoch
visits every user once; a history longer than `max_len + 1` is cut at a random end point, so long
histories contribute all of their windows over the epochs rather than only the newest one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel

EvalFn = Callable[[SequenceModel], float]
"""Validation score of a model (higher is better), e.g. HR@10 on each user's held-out next item."""
ProgressFn = Callable[[int, int, dict[str, float]], None]
"""(epoch, epochs, metrics) after each epoch."""
TimeArray = NDArray[np.float64]
"""Engagement times (epoch seconds), one per item of a sequence, non-decreasing."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule knobs."""

    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    eval_every: int = 10  # epochs between validation checks (when an EvalFn is given)
    patience: int = 4  # validation checks without improvement before stopping
    seed: int = 0


@dataclass
class TrainResult:
    """The trained model (best validation weights when validated), its epoch and the loss curve."""

    model: SequenceModel
    best_epoch: int
    best_score: float | None
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def shuffle_ties(seq: IntArray, times: TimeArray, rng: np.random.Generator) -> IntArray:
    """The sequence with engagements that share a timestamp put in a random order (times non-decreasing)."""
    return np.asarray(seq)[np.lexsort((rng.random(len(seq)), times))]


def crop_batch(
    seqs: Sequence[IntArray],
    rows: IntArray,
    length: int,
    rng: np.random.Generator,
    times: Sequence[TimeArray] | None = None,
) -> torch.Tensor:
    """Left-padded (B, length) batch: each sequence cut at a random end point, then its last `length` items.

    With `times`, engagements logged in the same second are reordered at random first: their logged order
    is arbitrary, so the model should not learn it.
    """
    out = np.zeros((len(rows), length), dtype=np.int64)
    for i, r in enumerate(rows.tolist()):
        s = seqs[r] if times is None else shuffle_ties(seqs[r], times[r], rng)
        end = len(s) if len(s) <= length else int(rng.integers(length, len(s) + 1))
        window = s[max(0, end - length) : end]
        out[i, length - len(window) :] = window
    return torch.from_numpy(out)


def left_pad(seqs: Sequence[IntArray], length: int) -> torch.Tensor:
    """The newest `length` items of each sequence, left-padded with 0 -> (B, length)."""
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for i, s in enumerate(seqs):
        tail = np.asarray(s[-length:], dtype=np.int64)
        if len(tail):
            out[i, length - len(tail) :] = tail
    return torch.from_numpy(out)


@torch.no_grad()
def score_all(model: SequenceModel, seqs: Sequence[IntArray], batch_size: int = 256) -> FloatArray:
    """Scores of every item for each sequence's next engagement -> (n_seqs, n_items + 1); column 0 is padding."""
    model.eval()
    table = model.item_table()  # (N, C)
    out = np.empty((len(seqs), table.shape[0]), dtype=np.float32)
    for lo in range(0, len(seqs), batch_size):
        x = left_pad(seqs[lo : lo + batch_size], model.cfg.max_len)  # (B, T)
        u = model.user_embedding(x)  # (B, C)
        out[lo : lo + len(x)] = (u @ table.T).numpy()  # (B, N)
    out[:, 0] = -np.inf
    return out


def item_counts(seqs: Sequence[IntArray], n_items: int) -> IntArray:
    """How often each item index occurs in the training sequences -> (n_items + 1,)."""
    flat = np.concatenate([np.asarray(s, np.int64) for s in seqs]) if len(seqs) else np.zeros(0, np.int64)
    return np.bincount(flat, minlength=n_items + 1).astype(np.int64)


def train_sequence_model(
    cfg: SequenceConfig,
    tcfg: TrainConfig,
    seqs: Sequence[IntArray],
    content: FloatArray | None = None,
    evaluate: EvalFn | None = None,
    progress: ProgressFn | None = None,
    times: Sequence[TimeArray] | None = None,
) -> TrainResult:
    """Fit a `SequenceModel` on engagement sequences; with `evaluate`, keep the best validated weights.

    `times` (one non-decreasing array per sequence) lets training shuffle engagements that share a timestamp.

    Raises:
        InvalidInputError: no sequence has two engagements, an index is outside 1..n_items, or `times`
            does not match the sequences.
    """
    usable = np.array([i for i, s in enumerate(seqs) if len(s) >= 2], dtype=np.int64)
    if not len(usable):
        raise InvalidInputError("no user has two engagements to learn a sequence from", "log more engagement")
    top = max(int(np.max(s)) for s in seqs if len(s))
    if top > cfg.n_items or min(int(np.min(s)) for s in seqs if len(s)) < 1:
        raise InvalidInputError(f"item indices must lie in 1..{cfg.n_items}", "map pin ids to 1-based indices")
    if times is not None and (
        len(times) != len(seqs)
        or any(len(t) != len(q) or np.any(np.diff(t) < 0) for t, q in zip(times, seqs, strict=True))
    ):
        raise InvalidInputError("times must give one non-decreasing time per engagement", "sort events by time")
    torch.manual_seed(tcfg.seed)
    rng = np.random.default_rng(tcfg.seed)
    model = SequenceModel(cfg, torch.from_numpy(content) if content is not None else None)
    seen = item_counts(seqs, cfg.n_items) > 0
    model.id_mask.copy_(torch.from_numpy(seen.astype(np.float32))[:, None])
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay, betas=(0.9, 0.98))
    t0 = time.perf_counter()
    best_state, best_epoch, best_score, stale = None, tcfg.epochs, None, 0
    losses: list[float] = []
    for epoch in range(1, tcfg.epochs + 1):
        model.train()
        order = rng.permutation(usable)
        total = 0.0
        for lo in range(0, len(order), tcfg.batch_size):
            batch = crop_batch(seqs, order[lo : lo + tcfg.batch_size], cfg.max_len + 1, rng, times)  # (B, T + 1)
            loss = model.loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(order))
        metrics = {"loss": losses[-1]}
        if evaluate is not None and (epoch % tcfg.eval_every == 0 or epoch == tcfg.epochs):
            score = evaluate(model)
            metrics["val"] = score
            if best_score is None or score > best_score:
                best_state, best_epoch, best_score, stale = copy.deepcopy(model.state_dict()), epoch, score, 0
            else:
                stale += 1
        if progress is not None:
            progress(epoch, tcfg.epochs, metrics)
        if evaluate is not None and stale >= tcfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, best_epoch, best_score, losses, time.perf_counter() - t0)
