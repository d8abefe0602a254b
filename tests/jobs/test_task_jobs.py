"""The unpartitioned steps on the runner: graph build, `train sequence` and `train ranker` as one task.

Each runs in this process (`LocalRunner.call`) or as one Ray task (`RayRunner.call`), chosen by
`jobs.runner`; the local-vs-Ray checks below compare the published results bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Event, EventType
from moodboard.core.settings import JobsSettings, Settings, load_settings
from moodboard.jobs.graph_job import run_graph_job
from moodboard.jobs.ranker_job import run_ranker_job
from moodboard.jobs.runner import JobRunner, LocalRunner
from moodboard.jobs.sequence_job import read_sequences, run_sequence_job
from moodboard.rank.sequence_source import current_sequence_source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _settings(home: Path) -> Settings:
    return load_settings(home=home, sequence={"d_model": 16, "max_len": 8, "epochs": 6, "eval_every": 2})


def _seed(st: CatalogStore) -> None:
    """12 pins in two categories, 24 users walking round one category each, two boards."""
    st.add_pins([NewPin(f"{s}{i}", f"{s} {i}", category=s, price=5.0 + i) for s in ("alpha", "beta") for i in range(6)])
    ids = {p.external_id: p.id for batch in st.iter_pins() for p in batch}
    rng = np.random.default_rng(0)
    events = []
    for u in range(24):
        user = st.ensure_user(f"u{u}").id
        side, start = ("alpha", "beta")[u % 2], int(rng.integers(6))
        for step in range(5):
            kind = EventType.SAVE if step % 2 else EventType.CLICK
            events.append(Event(user, ids[f"{side}{(start + step) % 6}"], kind, T0 + timedelta(minutes=step)))
    st.add_events(events)
    owner = st.ensure_user("curator").id
    for side in ("alpha", "beta"):
        board = st.create_board(owner, f"{side} board")
        for i in range(4):
            st.add_pin_to_board(board.id, ids[f"{side}{i}"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A seeded SQLite catalog (`_seed`)."""
    path = tmp_path_factory.mktemp("task-jobs") / "catalog.db"
    st = CatalogStore.open(f"sqlite:///{path}")
    _seed(st)
    yield st
    st.close()


def _ray_runner() -> JobRunner:
    from moodboard.jobs.ray_runner import RayRunner

    return RayRunner(JobsSettings(runner="ray"))


def test_graph_build_is_identical_locally_and_as_a_ray_task(store: Any, tmp_path: Path, ray_cluster: Any) -> None:
    _, local = run_graph_job(store, _settings(tmp_path / "a"), runner=LocalRunner())
    _, remote = run_graph_job(store, _settings(tmp_path / "b"), runner=_ray_runner())
    assert local.n_edges > 0
    for f in fields(local):
        a, b = getattr(local, f.name), getattr(remote, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name


def _recorder(calls: list[tuple[Any, ...]]) -> Any:
    return lambda *args: calls.append(args)


def test_train_sequence_is_identical_locally_and_as_a_ray_task(store: Any, tmp_path: Path, ray_cluster: Any) -> None:
    import torch

    runs = {}
    for name, runner in (("local", LocalRunner()), ("ray", _ray_runner())):
        settings = _settings(tmp_path / name)
        calls: list[tuple[Any, ...]] = []
        data = read_sequences(store, settings.snapshots_dir)
        result = run_sequence_job(
            data, settings.sequence, settings.snapshots_dir, progress=_recorder(calls), runner=runner
        )
        source = current_sequence_source(settings.snapshots_dir)
        assert source is not None
        runs[name] = (result, source, calls)
    (a, a_src, a_calls), (b, b_src, b_calls) = runs["local"], runs["ray"]
    assert (a.val_hr_at_10, a.best_epoch, a.users, a.items) == (b.val_hr_at_10, b.best_epoch, b.users, b.items)
    assert a_calls and [c[:2] for c in a_calls] == [c[:2] for c in b_calls]  # progress came back from the task
    for (name, x), (_, y) in zip(a_src.model.state_dict().items(), b_src.model.state_dict().items(), strict=True):
        assert torch.equal(x, y), name  # bit for bit


def test_train_ranker_is_identical_locally_and_as_a_ray_task(store: Any, tmp_path: Path, ray_cluster: Any) -> None:
    settings = _settings(tmp_path / "seq")
    run_sequence_job(read_sequences(store, settings.snapshots_dir), settings.sequence, settings.snapshots_dir)
    local = run_ranker_job(store, settings.ranker, settings.snapshots_dir, LocalRunner())
    model = (local.snapshot / "model.txt").read_text()
    remote = run_ranker_job(store, settings.ranker, settings.snapshots_dir, _ray_runner())
    assert (local.requests, local.rows) == (remote.requests, remote.rows) and local.requests > 0
    assert (remote.snapshot / "model.txt").read_text() == model


def _refuse(n: int) -> int:
    raise InvalidInputError(f"refused {n}", "pass another number")


def test_a_task_error_reaches_the_caller_as_itself(ray_cluster: Any) -> None:
    """Not Ray's wrapper with a remote traceback: the CLI prints message and hint as for a local run."""
    with pytest.raises(InvalidInputError) as err:
        _ray_runner().call(_refuse, 3)
    assert type(err.value) is InvalidInputError and err.value.message == "refused 3"
    assert _ray_runner().call(abs, -4) == LocalRunner().call(abs, -4) == 4


def test_the_cli_picks_the_runner_from_the_jobs_setting(tmp_path: Path, ray_cluster: Any) -> None:
    """`MOODBOARD_JOBS__RUNNER=ray moodboard graph build` builds on Ray: same graph as the default local run."""
    from typer.testing import CliRunner

    from moodboard.cli.main import build_app

    settings = _settings(tmp_path / "home")
    settings.ensure_home()
    st = CatalogStore.open(settings.database_url)
    _seed(st)
    st.close()
    outs = {}
    for runner in ("local", "ray"):
        env = {"MOODBOARD_HOME": str(settings.home), "MOODBOARD_JOBS__RUNNER": runner}
        done = CliRunner().invoke(build_app(), ["graph", "build", "--json"], env=env)
        assert done.exit_code == 0, (done.stdout[-2000:], done.exception)
        outs[runner] = json.loads(done.stdout[done.stdout.index("{") :])
        manifest = json.loads((Path(outs[runner].pop("snapshot")) / "manifest.json").read_text())
        assert manifest["runner"] == runner
    assert outs["local"] == outs["ray"] and outs["local"]["edges"] > 0
