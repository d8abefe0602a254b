"""SIGKILL `moodboard embed`, `index`, `graph build` and `train align` at random points (several seeds).

The procedure is `kill_harness.check_kills` (see there): after every kill the snapshot a server would load
verifies and serves as before; a rerun reuses the finished work, sweeps temp folders and equals a clean run.
The newer train jobs (`train sequence`, `train ranker`) are in `test_train_kill.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.core.snapshot import verify_snapshot
from tests.hardening.kill_harness import ForkServer, Job, check_kills, plain, small_settings

pytestmark = pytest.mark.slow


def _vector_answers(home: Path) -> Callable[[], Any]:
    from moodboard.embed.vectors import current_vectors

    def serve() -> Any:
        ids, vecs, _ = current_vectors(home / "snapshots")
        return ids.tolist(), np.round(vecs, 5).tolist()

    return serve


def _index_answers(home: Path) -> Callable[[], Any]:
    from moodboard.core.settings import IndexSettings
    from moodboard.index.bundle import IndexHolder

    holder = IndexHolder(home / "snapshots", IndexSettings(), check_every_s=0)
    queries = np.random.default_rng(0).normal(size=(4, 32)).astype(np.float32)

    def serve() -> Any:
        index = holder.get()
        ids, _ = index.vectors.search(queries, 5)
        lexical = [index.lexical.search(q, 5) if index.lexical else None for q in ("red", "circle print")]
        return json.loads(json.dumps([ids, lexical, index.calibration], default=plain))

    return serve


def _graph_answers(home: Path) -> Callable[[], Any]:
    from moodboard.graph.live import LiveGraph

    live = LiveGraph(small_settings(home).graph, home / "snapshots", poll_s=0.0)

    def serve() -> Any:
        rec = live.recommender()
        pins = np.asarray(rec.graph.pin_ids).tolist()
        return pins, [it.pin_id for it in live.related(pins[0], 5, seed=1).items]

    return serve


def _aligner_answers(home: Path) -> Callable[[], Any]:
    from moodboard.core.live_snapshot import LiveSnapshot
    from moodboard.embed.aligner import Aligner

    def load(path: Path) -> Aligner:
        verify_snapshot(path)
        return Aligner.load(path)

    live: LiveSnapshot[Aligner] = LiveSnapshot(home / "snapshots", "aligner", load, check_every_s=0)

    def serve() -> Any:
        aligner = live.get()
        feats = np.random.default_rng(0).normal(size=(3, aligner.spec.text_dim)).astype(np.float32)
        return np.round(aligner.project_texts(feats), 4).tolist()

    return serve


JOBS = {
    "embed": Job("embed", ["embed", "--json"], "vectors", _vector_answers, "vectors.sqlite"),
    "index": Job("index", ["index", "--json"], "index", _index_answers, "vectors.sqlite"),
    "graph": Job("graph", ["graph", "build", "--json"], "graph", _graph_answers, None),
    "align": Job(
        "align", ["train", "align", "--epochs", "2", "--json"], "aligner", _aligner_answers, "features.sqlite"
    ),
}


@pytest.mark.parametrize("name", list(JOBS))
def test_kill9_at_random_points_then_rerun_matches_a_clean_run(
    name: str, tmp_path: Path, server: ForkServer, request: pytest.FixtureRequest
) -> None:
    extra: dict[str, str] = {}
    if name == "align":
        clip = request.getfixturevalue("tiny_clip")
        extra = {"MOODBOARD_EMBED__BACKEND": "open_clip", "MOODBOARD_EMBED__CHECKPOINT": str(clip),
                 "MOODBOARD_EMBED__OPEN_CLIP_ADAPTER": "true"}  # fmt: skip
    check_kills(JOBS[name], tmp_path, server, request, extra)
