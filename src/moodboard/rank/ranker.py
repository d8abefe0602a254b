"""The learned blend: a LightGBM LambdaMART ranker over candidate features (issue 14).

`Ranker.fit(features, labels, groups)` trains on logged engagement, one group per request (the candidates
that were on offer, labels graded by what the user did); `Ranker.rank(features)` scores one request's
candidates. LightGBM's lambdarank limits are checked up front instead of failing deep inside the library:
labels are integers 0..30 (the default `label_gain` has 31 entries) and a group holds at most 10,000 rows
(LightGBM's DCG position cap). Groups with no positive label give no gradient and are dropped.
Snapshot layout (`ranker` kind): `model.txt` (LightGBM text model) and the feature names in the manifest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from moodboard.core.arrays import FloatArray
from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.core.snapshot import current_snapshot, read_manifest

RANKER_KIND = "ranker"
MAX_LABEL = 30
MAX_GROUP_ROWS = 10_000


@dataclass(frozen=True)
class RankerParams:
    """LambdaMART knobs (mirrors `RankerSettings`)."""

    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    seed: int = 0
    early_stopping_rounds: int = 30
    eval_at: int = 10


def check_groups(labels: ArrayLike, groups: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate lambdarank inputs: integer labels 0..30, group sizes summing to the rows, each <= 10,000.

    Raises:
        InvalidInputError: naming the broken limit.
    """
    y = np.asarray(labels)
    g = np.asarray(groups, dtype=np.int64)
    if y.ndim != 1 or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise InvalidInputError("ranker labels must be whole numbers", "grade engagement as 0, 1, 2, ...")
    if len(y) and (y.min() < 0 or y.max() > MAX_LABEL):
        raise InvalidInputError(
            f"ranker labels must lie in 0..{MAX_LABEL} (lambdarank's label_gain)", "clip the engagement grades"
        )
    if np.any(g < 1) or int(g.sum()) != len(y):
        raise InvalidInputError("group sizes must be positive and sum to the number of rows", "pass one per request")
    if len(g) and g.max() > MAX_GROUP_ROWS:
        raise InvalidInputError(
            f"a request has {int(g.max())} candidates; lambdarank allows at most {MAX_GROUP_ROWS}",
            "cut each request's candidate list before training",
        )
    return y.astype(np.int64), g


def positive_groups(
    features: FloatArray, labels: np.ndarray, groups: np.ndarray
) -> tuple[FloatArray, np.ndarray, np.ndarray]:
    """Drop groups without a positive label (they carry no lambdarank gradient)."""
    ends = np.cumsum(groups)
    starts = ends - groups
    keep = [i for i, (s, e) in enumerate(zip(starts, ends, strict=True)) if labels[s:e].max(initial=0) > 0]
    rows = np.concatenate([np.arange(starts[i], ends[i]) for i in keep]) if keep else np.zeros(0, np.int64)
    return features[rows], labels[rows], groups[keep]


class Ranker:
    """A trained LambdaMART model with the names of the features it expects, in order."""

    def __init__(self, booster: Any, feature_names: Sequence[str], train_seconds: float = 0.0) -> None:
        """Wrap a LightGBM `Booster`."""
        self.booster = booster
        self.feature_names = list(feature_names)
        self.train_seconds = train_seconds

    @classmethod
    def fit(
        cls,
        features: FloatArray,
        labels: ArrayLike,
        groups: ArrayLike,
        feature_names: Sequence[str],
        params: RankerParams | None = None,
        valid: tuple[FloatArray, ArrayLike, ArrayLike] | None = None,
    ) -> Ranker:
        """Train on (n, F) features with graded labels and per-request group sizes; `valid` early-stops.

        Raises:
            InvalidInputError: shapes disagree, a lambdarank limit is broken, or no group has a positive.
        """
        import lightgbm as lgb

        p = params or RankerParams()
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(feature_names):
            raise InvalidInputError(f"features must be (n, {len(feature_names)})", "build them with the same schema")
        y, g = check_groups(labels, groups)
        x, y, g = positive_groups(x, y, g)
        if not len(g):
            raise InvalidInputError("no request has an engaged candidate to learn from", "log more engagement")
        cfg = {
            "objective": "lambdarank", "metric": "ndcg", "eval_at": [p.eval_at], "learning_rate": p.learning_rate,
            "num_leaves": p.num_leaves, "min_data_in_leaf": p.min_child_samples, "seed": p.seed,
            "deterministic": True, "num_threads": 1, "verbosity": -1, "lambdarank_truncation_level": 30,
        }  # fmt: skip
        train = lgb.Dataset(x, y, group=g, feature_name=list(feature_names), free_raw_data=False)
        sets: list[Any] = []
        callbacks: list[Any] = []
        if valid is not None:
            vx = np.asarray(valid[0], dtype=np.float32)
            vy, vg = check_groups(valid[1], valid[2])
            vx, vy, vg = positive_groups(vx, vy, vg)
            if len(vg):
                sets = [lgb.Dataset(vx, vy, group=vg, reference=train)]
                callbacks = [lgb.early_stopping(p.early_stopping_rounds, verbose=False)]
        t0 = time.perf_counter()
        booster = lgb.train(cfg, train, num_boost_round=p.n_estimators, valid_sets=sets, callbacks=callbacks)
        return cls(booster, feature_names, time.perf_counter() - t0)

    def rank(self, features: FloatArray) -> FloatArray:
        """Scores (n,) of one request's candidates from their (n, F) features; higher ranks first."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise InvalidInputError(
                f"features must be (n, {len(self.feature_names)}), got {x.shape}", "build them with the ranker's schema"
            )
        if not len(x):
            return np.zeros(0, np.float32)
        best = self.booster.best_iteration or None
        return np.asarray(self.booster.predict(x, num_iteration=best, num_threads=1), dtype=np.float32)

    def save(self, folder: Path) -> dict[str, Any]:
        """Write `model.txt` into a snapshot folder; returns the manifest fields."""
        self.booster.save_model(str(folder / "model.txt"), num_iteration=self.booster.best_iteration or None)
        return {"feature_names": self.feature_names, "train_seconds": round(self.train_seconds, 3)}

    @classmethod
    def load(cls, folder: Path) -> Ranker:
        """Load a `ranker` snapshot folder.

        Raises:
            SnapshotError: the model file or the manifest's feature names are missing.
        """
        import lightgbm as lgb

        manifest = read_manifest(folder)
        try:
            booster = lgb.Booster(model_file=str(folder / "model.txt"))
            names = manifest["feature_names"]
        except (OSError, KeyError, lgb.basic.LightGBMError) as exc:
            raise SnapshotError(
                f"ranker snapshot {folder} is unreadable: {exc}", "rerun `moodboard train ranker`"
            ) from exc
        return cls(booster, names)


def current_ranker(snapshots_dir: Path) -> Ranker | None:
    """The live `ranker` snapshot, or None when none was trained yet."""
    folder = current_snapshot(snapshots_dir, RANKER_KIND)
    return Ranker.load(folder) if folder is not None else None
