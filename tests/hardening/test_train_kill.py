"""SIGKILL `moodboard train sequence` and `moodboard train ranker` at random points (several seeds).

Same procedure as the other jobs (`kill_harness.check_kills`): after every kill the `sequence` / `ranker`
snapshot a server would load verifies, and the holder the feed serves through (a `LiveSnapshot` that
verifies checksums, as `runtime.build_feed` builds it) answers exactly as before the run or as a clean
run; the rerun publishes a snapshot whose files equal the clean run's and leaves no temp folder. Neither
job has partial work to reuse: training restarts from the engagement in the catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.core.live_snapshot import LiveSnapshot
from moodboard.core.snapshot import verify_snapshot
from tests.hardening.kill_harness import ForkServer, Job, check_kills

pytestmark = pytest.mark.slow

# a small model, so a run is a few seconds of training on a shared 2-core box (the code path is the same)
TRAIN_ENV = {
    "MOODBOARD_SEQUENCE__D_MODEL": "16",
    "MOODBOARD_SEQUENCE__N_LAYERS": "1",
    "MOODBOARD_SEQUENCE__MAX_LEN": "16",
    "MOODBOARD_SEQUENCE__BATCH_SIZE": "4",
    "MOODBOARD_SEQUENCE__EVAL_EVERY": "2",
    "MOODBOARD_RANKER__N_ESTIMATORS": "20",
    "MOODBOARD_RANKER__MIN_CHILD_SAMPLES": "2",
    "MOODBOARD_RANKER__CANDIDATES_PER_SOURCE": "10",
}
SEQUENCE_ARGS = ["train", "sequence", "--epochs", "6", "--json"]


def _sequence_answers(home: Path) -> Callable[[], Any]:
    from moodboard.rank.sequence_source import SequenceSource, load_sequence_source

    def load(path: Path) -> SequenceSource:
        verify_snapshot(path)
        return load_sequence_source(path)

    live: LiveSnapshot[SequenceSource] = LiveSnapshot(home / "snapshots", "sequence", load, check_every_s=0)

    def serve() -> Any:
        source = live.get()
        users = sorted(source._hist)  # every user the snapshot holds a history for
        return [
            ([c.pin_id for c in source.candidates(u, 5)], np.round(source.user_embedding(u), 4).tolist()) for u in users
        ]

    return serve


def _ranker_answers(home: Path) -> Callable[[], Any]:
    from moodboard.rank.ranker import Ranker

    def load(path: Path) -> Ranker:
        verify_snapshot(path)
        return Ranker.load(path)

    live: LiveSnapshot[Ranker] = LiveSnapshot(home / "snapshots", "ranker", load, check_every_s=0)

    def serve() -> Any:
        ranker = live.get()
        x = np.random.default_rng(0).normal(size=(16, len(ranker.feature_names))).astype(np.float32)
        return np.round(ranker.rank(x), 5).tolist()

    return serve


JOBS = {
    "sequence": Job("sequence", SEQUENCE_ARGS, "sequence", _sequence_answers, None),
    "ranker": Job("ranker", ["train", "ranker", "--json"], "ranker", _ranker_answers, None, before=[SEQUENCE_ARGS]),
}


@pytest.mark.parametrize("name", list(JOBS))
def test_kill9_train_job_at_random_points_then_rerun_matches_a_clean_run(
    name: str, tmp_path: Path, server: ForkServer, request: pytest.FixtureRequest
) -> None:
    check_kills(JOBS[name], tmp_path, server, request, dict(TRAIN_ENV))
