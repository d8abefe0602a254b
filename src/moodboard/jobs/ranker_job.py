"""The ranker training job: replay each user's newest engagement against the sources, fit LambdaMART.

Reader → mapper → writer: `read_sequences` and `read_pins` give the users' ordered engagement and the
pins' category / price-band codes; `replay_requests` rebuilds, for every user with 3+ engagements, the
request just before their newest one: candidates from the sequence model (its snapshot holds out each
user's newest engagement in training, so the replay does not leak) and from popularity (counts without
the held-out engagements), features from `blend_features`, and a graded label on the pin the user went
on to engage with; `fit_ranker` replays and fits the ranker (a fifth of the users early-stop) as one
task on the job runner (this process or one Ray task: one boosting loop, not partitioned), and
`run_ranker_job` publishes a versioned `ranker` snapshot. Other sources join the replay once they can be
queried as of a past time.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.core.records import Candidate
from moodboard.core.snapshot import write_snapshot
from moodboard.index.bundle import current_profile
from moodboard.jobs.graph_job import read_pins
from moodboard.jobs.runner import JobRunner, LocalRunner
from moodboard.rank.blend_features import ItemStats, RequestContext, build_features, category_preferences, feature_names
from moodboard.rank.ranker import RANKER_KIND, Ranker, RankerParams
from moodboard.rank.sequence_model import SequenceModel
from moodboard.rank.sequence_source import SequenceSource, current_sequence_source

if TYPE_CHECKING:
    from moodboard.catalog.store import CatalogStore
    from moodboard.core.settings import RankerSettings

SOURCES = ("sequence", "popularity")


@dataclass
class ReplayData:
    """Replayed requests: features (n, F), labels (n,), group sizes, feature names."""

    features: FloatArray
    labels: IntArray
    groups: IntArray
    names: list[str]


@dataclass
class RankerJobResult:
    """What the job did."""

    snapshot: Path
    requests: int
    rows: int
    train_seconds: float


def replay_requests(
    histories: dict[int, list[int]],
    first_seen: dict[int, float],
    last_seen: dict[int, float],
    source: SequenceSource,
    pin_codes: dict[int, tuple[int, int]],
    per_source: int,
) -> ReplayData:
    """One request per user with 3+ engagements: the candidates before their newest one, labelled by it."""
    held = {u: h[-1] for u, h in histories.items() if len(h) >= 3}
    counts = Counter(p for h in histories.values() for p in h)
    counts.subtract(held.values())
    popular = [p for p, _ in counts.most_common(per_source + 200)]
    pins = np.array(sorted(set(counts) | set(pin_codes)), dtype=np.int64)
    codes = np.array([pin_codes.get(int(p), (-1, -1)) for p in pins], dtype=np.int64).reshape(-1, 2)
    vectors = source.item_vectors(pins.tolist())
    stats = ItemStats(
        pins, np.array([max(counts[int(p)], 0) for p in pins], np.float64),
        np.array([first_seen.get(int(p), np.nan) for p in pins]), category=codes[:, 0], price_band=codes[:, 1],
        vectors=vectors,
    )  # fmt: skip
    replay = SequenceSource(source.model, source.pin_ids, {u: histories[u][:-1] for u in held})
    names = feature_names(SOURCES)
    xs, ys, gs = [], [], []
    for user, target in held.items():
        past = histories[user][:-1]
        seen = set(past)
        lists = {
            "sequence": replay.candidates(user, per_source),
            "popularity": [Candidate(p, float(counts[p]), "popularity") for p in popular if p not in seen][:per_source],
        }
        bands = [pin_codes.get(p, (-1, -1))[1] for p in past[-20:]]
        band = Counter(b for b in bands if b >= 0).most_common(1)
        ctx = RequestContext(
            now=last_seen.get(user, 0.0),
            price_band=band[0][0] if band else None,
            category_weights=category_preferences([pin_codes.get(p, (-1, -1))[0] for p in past[-20:]]),
            user_vector=replay.user_embedding(user),
        )
        cand, x = build_features(lists, SOURCES, stats, ctx)
        if not len(cand):
            continue
        xs.append(x)
        ys.append((cand == target).astype(np.int64))
        gs.append(len(cand))
    if not xs:
        raise InvalidInputError("no user has 3 engagements to replay", "log more engagement first")
    return ReplayData(np.concatenate(xs), np.concatenate(ys), np.array(gs, np.int64), names)


def fit_ranker(
    histories: dict[int, list[int]],
    first_seen: dict[int, float],
    last_seen: dict[int, float],
    model: SequenceModel,
    pin_ids: IntArray,
    pin_codes: dict[int, tuple[int, int]],
    settings: RankerSettings,
) -> tuple[Ranker, int, int]:
    """Replay every user's newest engagement against the sequence model (`pin_ids[i]` = its row i) and fit the
    ranker; returns (ranker, requests, rows). Takes the model, not a `SequenceSource` (whose lock cannot
    travel to a Ray task).

    Raises:
        InvalidInputError: too little engagement to learn from.
    """
    source = SequenceSource(model, pin_ids)
    data = replay_requests(histories, first_seen, last_seen, source, pin_codes, settings.candidates_per_source)
    n = len(data.groups)
    perm = np.random.default_rng(settings.seed).permutation(n)
    stop = set(perm[: n // 5].tolist()) if n >= 10 else set()
    ends = np.cumsum(data.groups)
    starts = ends - data.groups
    fit_rows = np.concatenate([np.arange(starts[i], ends[i]) for i in range(n) if i not in stop])
    params = RankerParams(
        n_estimators=settings.n_estimators, learning_rate=settings.learning_rate, num_leaves=settings.num_leaves,
        min_child_samples=settings.min_child_samples, seed=settings.seed,
    )  # fmt: skip
    valid = None
    if stop:
        rows = np.concatenate([np.arange(starts[i], ends[i]) for i in sorted(stop)])
        valid = (data.features[rows], data.labels[rows], data.groups[sorted(stop)])
    keep = [i for i in range(n) if i not in stop]
    ranker = Ranker.fit(
        data.features[fit_rows], data.labels[fit_rows], data.groups[keep], data.names, params, valid=valid
    )
    return ranker, n, len(data.labels)


def run_ranker_job(
    store: CatalogStore, settings: RankerSettings, snapshots_dir: Path, runner: JobRunner | None = None
) -> RankerJobResult:
    """Replay the store's engagement, fit the ranker (one task on `runner`, local by default) and publish the
    current `ranker` snapshot.

    Raises:
        SnapshotError: there is no sequence snapshot to take candidates from.
        InvalidInputError: too little engagement to learn from.
    """
    from moodboard.jobs.graph_job import read_events
    from moodboard.jobs.sequence_job import sequences_from_arrays

    source = current_sequence_source(snapshots_dir)
    if source is None:
        raise SnapshotError("no sequence snapshot to replay candidates from", "run `moodboard train sequence` first")
    ev = read_events(store)
    histories = sequences_from_arrays(ev.user, ev.pin, ev.code, ev.ts)
    first_seen: dict[int, float] = {}
    last_seen: dict[int, float] = {}
    for u, p, t in zip(ev.user.tolist(), ev.pin.tolist(), ev.ts.tolist(), strict=True):
        first_seen[p] = min(first_seen.get(p, t), t)
        last_seen[u] = max(last_seen.get(u, t), t)
    table = read_pins(store, profile=current_profile(snapshots_dir))
    pin_codes = {int(p): (int(f[0]), int(f[1])) for p, f in zip(table.ids.tolist(), table.feats, strict=True)}
    runner = runner or LocalRunner()
    ranker, n, rows = runner.call(
        fit_ranker, histories, first_seen, last_seen, source.model, source.pin_ids, pin_codes, settings
    )
    manifest: dict[str, Any] = {
        "inputs": {"requests": n, "rows": rows, "sources": list(SOURCES)},
        "settings": settings.model_dump(),
        "trained_at": time.time(),
        "runner": runner.name,
    }
    path = write_snapshot(snapshots_dir, RANKER_KIND, ranker.save, manifest)
    return RankerJobResult(path, n, rows, ranker.train_seconds)
