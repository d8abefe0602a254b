"""The sequence-model training job: engagement events → per-user sequences → trained model → snapshot.

Reader → mapper → writer: `read_sequences` orders each user's positive engagements (every event but a
hide) by time; `train_from_sequences` holds out each user's newest engagement for early stopping on
full-catalogue HR@10 and fits the transformer (one training loop: one task on the job runner, this
process or one Ray task, not partitioned); `run_sequence_job` publishes a versioned `sequence` snapshot
holding the model, its pin rows and the users' histories (all events, the held-out one too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.core.records import EventType
from moodboard.core.snapshot import write_snapshot
from moodboard.embed.vectors import vectors_or_none
from moodboard.graph.weights import EVENT_CODES
from moodboard.jobs.graph_job import read_events
from moodboard.jobs.runner import JobRunner, LocalRunner
from moodboard.rank.metrics import full_rank_of_target, loo_hr_ndcg
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel
from moodboard.rank.sequence_source import SEQUENCE_KIND, save_sequence_snapshot
from moodboard.rank.sequence_training import ProgressFn, TrainConfig, score_all, train_sequence_model

if TYPE_CHECKING:
    from moodboard.catalog.store import CatalogStore
    from moodboard.core.settings import SequenceSettings


@dataclass
class SequenceData:
    """Users' engagement sequences as pin ids (oldest first) and the content vectors available."""

    histories: dict[int, list[int]]
    vector_ids: IntArray | None = None
    vectors: FloatArray | None = None
    times: dict[int, list[float]] | None = None  # each engagement's time, aligned with `histories`


@dataclass
class SequenceJobResult:
    """What the job did: snapshot, sizes, validation HR@10 and training time."""

    snapshot: Path
    users: int
    items: int
    events: int
    val_hr_at_10: float | None
    best_epoch: int
    seconds: float


def sequences_from_arrays(
    users: NDArray[Any], pins: NDArray[Any], codes: NDArray[Any], ts: NDArray[Any]
) -> dict[int, list[int]]:
    """Group positive events (all but hides) by user, oldest first (ties keep input order)."""
    keep = codes != EVENT_CODES[EventType.HIDE]
    u, p, t = users[keep], pins[keep], ts[keep]
    order = np.lexsort((np.arange(len(u)), t, u))
    u, p = u[order], p[order]
    out: dict[int, list[int]] = {}
    if not len(u):
        return out
    bounds = np.flatnonzero(np.diff(u)) + 1
    for chunk_u, chunk_p in zip(np.split(u, bounds), np.split(p, bounds), strict=True):
        out[int(chunk_u[0])] = chunk_p.tolist()
    return out


def times_from_arrays(users: NDArray[Any], codes: NDArray[Any], ts: NDArray[Any]) -> dict[int, list[float]]:
    """Each user's positive-event times, oldest first, aligned with `sequences_from_arrays`."""
    keep = codes != EVENT_CODES[EventType.HIDE]
    u, t = users[keep], np.asarray(ts[keep], dtype=np.float64)
    order = np.lexsort((np.arange(len(u)), t, u))
    u, t = u[order], t[order]
    bounds = np.flatnonzero(np.diff(u)) + 1
    return {int(cu[0]): ct.tolist() for cu, ct in zip(np.split(u, bounds), np.split(t, bounds), strict=True) if len(cu)}


def read_sequences(store: CatalogStore, snapshots_dir: Path | None = None) -> SequenceData:
    """Every user's engagement sequence from the store, plus the live vectors snapshot when there is one."""
    ev = read_events(store)
    vec = vectors_or_none(snapshots_dir) if snapshots_dir is not None else None
    return SequenceData(
        sequences_from_arrays(ev.user, ev.pin, ev.code, ev.ts),
        vec[0] if vec else None,
        vec[1] if vec else None,
        times_from_arrays(ev.user, ev.code, ev.ts),
    )


def item_rows(data: SequenceData, use_content: bool) -> tuple[IntArray, FloatArray | None]:
    """Row i -> pin id (row 0 = padding): engaged pins, plus every pin with a vector when content is used."""
    pins = {p for h in data.histories.values() for p in h}
    content_on = use_content and data.vectors is not None and data.vector_ids is not None
    if content_on and data.vector_ids is not None:
        pins |= set(data.vector_ids.tolist())
    pin_ids = np.array([-1, *sorted(pins)], dtype=np.int64)
    if not content_on or data.vectors is None or data.vector_ids is None:
        return pin_ids, None
    content = np.zeros((len(pin_ids), data.vectors.shape[1]), dtype=np.float32)
    pos = {int(p): i for i, p in enumerate(pin_ids.tolist())}
    for pid, v in zip(data.vector_ids.tolist(), data.vectors, strict=True):
        content[pos[int(pid)]] = v
    return pin_ids, content


def train_from_sequences(
    data: SequenceData, s: SequenceSettings, progress: ProgressFn | None = None
) -> tuple[SequenceModel, IntArray, float | None, int]:
    """Fit the model with the newest engagement of each user (3+ events) held out for early stopping.

    Returns:
        (model, pin ids per row, validation HR@10 or None when no user could be held out, best epoch).
    """
    pin_ids, content = item_rows(data, s.use_content)
    row = {int(p): i for i, p in enumerate(pin_ids.tolist())}
    seqs = [np.array([row[p] for p in h], dtype=np.int64) for h in data.histories.values()]
    if not any(len(q) >= 2 for q in seqs):
        raise InvalidInputError("no user has two engagements to learn a sequence from", "log more engagement")
    held = [i for i, q in enumerate(seqs) if len(q) >= 3]
    held_set = set(held)
    train = [q[:-1] if i in held_set else q for i, q in enumerate(seqs)]
    times = None
    if s.shuffle_ties and data.times is not None:
        full = [np.asarray(data.times[u], dtype=np.float64) for u in data.histories]
        times = [t[:-1] if i in held_set else t for i, t in enumerate(full)]
    cfg = SequenceConfig(
        n_items=len(pin_ids) - 1, max_len=s.max_len, d_model=s.d_model, n_layers=s.n_layers, n_heads=s.n_heads,
        dropout=s.dropout, content_dim=0 if content is None else int(content.shape[1]), objective=s.objective,
        all_action_window=s.all_action_window, mask_seen=s.mask_seen,
    )  # fmt: skip
    tcfg = TrainConfig(
        epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, eval_every=s.eval_every, patience=s.patience, seed=s.seed
    )
    evaluate = None
    if held:
        val_seqs = [train[i] for i in held]
        targets = np.array([seqs[i][-1] for i in held], dtype=np.int64)

        def evaluate(model: SequenceModel) -> float:
            scores = score_all(model, val_seqs)
            return loo_hr_ndcg(full_rank_of_target(scores, targets, val_seqs), 10)[0]

    result = train_sequence_model(cfg, tcfg, train, content, evaluate, progress, times)
    return result.model, pin_ids, result.best_score, result.best_epoch


def run_sequence_job(
    data: SequenceData,
    settings: SequenceSettings,
    snapshots_dir: Path,
    progress: ProgressFn | None = None,
    runner: JobRunner | None = None,
) -> SequenceJobResult:
    """Train on `data` as one task on `runner` (local by default) and publish the current `sequence` snapshot."""
    import time

    t0 = time.perf_counter()
    runner = runner or LocalRunner()
    trained = runner.call(train_from_sequences, data, settings, progress=progress)
    model, pin_ids, val_hr, best_epoch = trained
    seconds = time.perf_counter() - t0
    n_events = sum(len(h) for h in data.histories.values())
    manifest: dict[str, Any] = {
        "inputs": {"users": len(data.histories), "events": n_events, "content": model.content_proj is not None},
        "settings": settings.model_dump(),
        "val_hr_at_10": val_hr,
        "best_epoch": best_epoch,
        "train_seconds": round(seconds, 2),
        "runner": runner.name,
    }
    path = write_snapshot(
        snapshots_dir, SEQUENCE_KIND, lambda d: save_sequence_snapshot(d, model, pin_ids, data.histories), manifest
    )
    return SequenceJobResult(path, len(data.histories), len(pin_ids) - 1, n_events, val_hr, best_epoch, seconds)
