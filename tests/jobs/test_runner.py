"""The job runner: partitions with done markers, fsspec output, local vs Ray, kill -9 and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from moodboard.catalog.images import ImageLimits, process_image_file
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.settings import JobsSettings
from moodboard.embed.fake import FakeEmbedder
from moodboard.embed.vectors import read_vectors
from moodboard.jobs.embed_job import EmbedItem, read_pins, run_embed_job
from moodboard.jobs.runner import LocalRunner, PartitionOutput, PartitionStore, make_partitions

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def _catalog(tmp_path: Path, n: int) -> list[EmbedItem]:
    """n generated images in a fresh SQLite catalog; returns the embed job's items."""
    folder = tmp_path / "images"
    folder.mkdir(parents=True, exist_ok=True)
    store = CatalogStore.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    rng = np.random.default_rng(7)
    pins = []
    for i in range(n):
        img = Image.new("RGB", (48, 40), tuple(int(c) for c in rng.integers(0, 255, 3)))
        img.paste(tuple(int(c) for c in rng.integers(0, 255, 3)), (4 + i % 20, 6, 30, 30))
        path = folder / f"img{i:03d}.png"
        img.save(path)
        image = process_image_file(path, ImageLimits(), tmp_path / "thumbs")
        pins.append(NewPin(external_id=path.stem, title=f"item {i}", source_uri=str(path), image=image))
    store.add_pins(pins)
    items = list(read_pins(store, tmp_path / "thumbs"))
    store.close()
    return items


class _Double:
    """A toy mapper: doubles numbers; counts calls."""

    calls = 0

    def __call__(self, items: Any) -> PartitionOutput:
        _Double.calls += 1
        return PartitionOutput({"x": np.array(items, dtype=np.int64) * 2}, {"n": len(items)})


def test_partitions_are_resumable_and_keyed_by_their_items(tmp_path: Path) -> None:
    store = PartitionStore(f"file://{tmp_path / 'out'}")
    parts = make_partitions(list(range(10)), 4)
    assert [len(p.items) for p in parts] == [4, 4, 2]
    _Double.calls = 0
    first = LocalRunner().run(parts, _Double, store)
    assert first.computed == [0, 1, 2] and first.reused == [] and _Double.calls == 3
    np.testing.assert_array_equal(store.read(parts[1]).arrays["x"], [8, 10, 12, 14])
    assert store.read(parts[2]).meta == {"n": 2}
    again = LocalRunner().run(parts, _Double, store)
    assert again.computed == [] and again.reused == [0, 1, 2] and _Double.calls == 3
    # one item changed: only its partition's key changes, so only it is recomputed
    changed = make_partitions([*range(9), 99], 4)
    third = LocalRunner().run(changed, _Double, store)
    assert third.computed == [2] and third.reused == [0, 1]
    np.testing.assert_array_equal(store.read(changed[2]).arrays["x"], [16, 198])
    # a data file without its done marker (a crash between the two writes) is not trusted
    (tmp_path / "out" / "part-00000.done").unlink()
    assert store.done_marker(parts[0]) is None
    assert LocalRunner().run(parts[:1], _Double, store).computed == [0]
    assert not list((tmp_path / "out").glob("*.tmp-*"))


def test_output_goes_to_any_fsspec_url(tmp_path: Path) -> None:
    store = PartitionStore("memory://moodboard-test/job")
    parts = make_partitions(list(range(5)), 2)
    LocalRunner().run(parts, _Double, store)
    np.testing.assert_array_equal(store.read(parts[2]).arrays["x"], [8])
    store.clear()
    assert store.done_marker(parts[0]) is None


def test_local_and_ray_runners_give_identical_vectors(tmp_path: Path, ray_cluster: Any) -> None:
    from moodboard.jobs.ray_runner import RayRunner

    items = _catalog(tmp_path, 23)
    emb = FakeEmbedder(dim=16)
    local = run_embed_job(items, emb, tmp_path / "a", cache=None, batch_size=3, workers=1, partition_size=5)
    ray_runner = RayRunner(JobsSettings(runner="ray", ray_actors=2))
    remote = run_embed_job(
        items, emb, tmp_path / "b", cache=None, batch_size=3, workers=1, partition_size=5, runner=ray_runner
    )
    assert remote.partitions_computed == [0, 1, 2, 3, 4] == local.partitions_computed
    a_ids, a_vecs, a_man = read_vectors(local.snapshot)
    b_ids, b_vecs, b_man = read_vectors(remote.snapshot)
    assert len(a_ids) == 23 and a_man["runner"] == "local" and b_man["runner"] == "ray"
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_array_equal(a_vecs, b_vecs)  # bit for bit
    assert remote.embedded == 23 and remote.failed == {}
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())  # partitions cleared


_KILLED_JOB = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from moodboard.embed.fake import FakeEmbedder
    from moodboard.jobs import runner
    from moodboard.jobs.embed_job import EmbedItem, run_embed_job

    args = json.loads(sys.argv[1])
    started = Path(args["started"])
    real = runner.compute_partition

    def logged(mapper, store, part):
        with started.open("a") as fh:
            fh.write(f"{part.index}\\n")
        return real(mapper, store, part)

    runner.compute_partition = logged

    class Slow(FakeEmbedder):
        def embed_images(self, images):
            time.sleep(0.15)
            return super().embed_images(images)

    items = [EmbedItem(*row) for row in args["items"]]
    run_embed_job(items, Slow(dim=16), Path(args["snaps"]), cache=None, batch_size=2, workers=1,
                  partition_size=4, work_url=args["work"])
    """
)


def test_kill_9_mid_job_recomputes_at_most_the_in_flight_partition(tmp_path: Path) -> None:
    items = _catalog(tmp_path, 40)  # 10 partitions of 4, ~0.3 s each in the child
    work, started = tmp_path / "work", tmp_path / "started.txt"
    args = {
        "items": [[it.pin_id, it.path, it.content_hash] for it in items],
        "snaps": str(tmp_path / "snaps"),
        "work": str(work),
        "started": str(started),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(REPO)])}
    child = subprocess.Popen([sys.executable, "-c", _KILLED_JOB, json.dumps(args)], env=env)
    deadline = time.monotonic() + 60
    while len(list(work.glob("*/part-*.done"))) < 4 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done_at_kill = {int(p.stem.split("-")[1]) for p in work.glob("*/part-*.done")}
    started_at_kill = {int(line) for line in started.read_text().split()}
    in_flight = started_at_kill - done_at_kill
    assert 4 <= len(done_at_kill) < 10, "the child must be killed mid-job"
    assert len(in_flight) <= 1  # the local runner holds one partition at a time

    result = run_embed_job(
        items,
        FakeEmbedder(dim=16),
        tmp_path / "snaps",
        cache=None,
        batch_size=2,
        workers=1,
        partition_size=4,
        work_url=str(work),
    )
    recomputed = set(result.partitions_computed) & started_at_kill
    assert set(result.partitions_reused) == done_at_kill
    assert recomputed == in_flight  # at most the partition in flight was computed twice
    assert set(result.partitions_computed) == set(range(10)) - done_at_kill
    reference = run_embed_job(
        items,
        FakeEmbedder(dim=16),
        tmp_path / "ref",
        cache=None,
        batch_size=2,
        workers=1,
        partition_size=4,
        work_url=str(tmp_path / "ref-work"),
    )
    ids, vecs, _ = read_vectors(result.snapshot)
    ref_ids, ref_vecs, _ = read_vectors(reference.snapshot)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(vecs, ref_vecs)


MYNTRA_MAP = ["--map", "title=productDisplayName", "--map", "category=articleType", "--map", "color=baseColour"]


@pytest.mark.realdata
@pytest.mark.slow
def test_moodboard_embed_on_myntra_is_identical_on_local_and_ray(
    tmp_path: Path, data_dir: Path, ray_cluster: Any
) -> None:
    """`moodboard embed` on (the first 60 items of) Myntra: the same vectors with either runner."""
    from typer.testing import CliRunner

    from moodboard.cli.main import build_app

    source = data_dir / "myntra" / "catalog.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines()[:60]]
    (tmp_path / "images").mkdir()
    for row in rows:  # a copy of the 60 images in the test's temp folder (ingest confines paths to it)
        (tmp_path / row["image"]).write_bytes((source.parent / row["image"]).read_bytes())
    subset = tmp_path / "myntra.jsonl"
    subset.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    cli = CliRunner()
    env = {
        "MOODBOARD_EMBED__BACKEND": "fake",
        "MOODBOARD_EMBED__DIM": "32",
        "MOODBOARD_JOBS__PARTITION_SIZE": "20",
        "MOODBOARD_JOBS__RAY_ACTORS": "2",
    }
    ingested = cli.invoke(
        build_app(),
        ["ingest", str(subset), *MYNTRA_MAP, "--json"],
        env={**env, "MOODBOARD_HOME": str(tmp_path / "local")},
    )
    assert ingested.exit_code == 0, ingested.stdout[-2000:]
    shutil.copytree(tmp_path / "local", tmp_path / "ray")  # the same ingested catalog for both runs
    outs = {}
    for runner in ("local", "ray"):
        home = {**env, "MOODBOARD_HOME": str(tmp_path / runner)}
        done = cli.invoke(build_app(), ["embed", "--runner", runner, "--json"], env=home)
        assert done.exit_code == 0, (done.stdout[-2000:], done.exception)
        outs[runner] = json.loads(done.stdout.strip().splitlines()[-1])
        assert outs[runner]["runner"] == runner and outs[runner]["partitions_computed"] == 3
    local, remote = (read_vectors(Path(outs[r]["snapshot"])) for r in ("local", "ray"))
    assert len(local[0]) == 60 and outs["local"]["failed"] == 0
    np.testing.assert_array_equal(local[0], remote[0])
    np.testing.assert_array_equal(local[1], remote[1])


def test_ray_actors_use_the_drivers_torch_thread_count_on_a_local_ray() -> None:
    """Regression: lite vectors differed by 1e-7 between runners (actors ran 1 torch thread, the CLI 2)."""
    import torch

    from moodboard.jobs.ray_runner import RayRunner

    assert RayRunner(JobsSettings(runner="ray")).actor_threads() == torch.get_num_threads()
    assert RayRunner(JobsSettings(runner="ray", worker_threads=3)).actor_threads() == 3
    assert RayRunner(JobsSettings(runner="ray", ray_address="ray://head:10001")).actor_threads() == 0


_KILLED_RAY_JOB = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    import ray
    from moodboard.core.settings import JobsSettings
    from moodboard.jobs.ray_runner import RayRunner
    from moodboard.jobs.runner import PartitionOutput, PartitionStore, make_partitions

    args = json.loads(sys.argv[1])

    class SlowMapper:
        def __call__(self, items):
            with open(args["started"], "a") as fh:
                fh.write(f"{items[0][0]}\\n")
            time.sleep(0.3)
            return PartitionOutput({"x": np.array([v for _, v in items]) * 2}, {})

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": args["pythonpath"]}})
    parts = make_partitions([(i // 3, i) for i in range(30)], 3)
    RayRunner(JobsSettings(runner="ray", ray_actors=2)).run(parts, SlowMapper, PartitionStore(args["work"]))
    """
)


@pytest.mark.slow
def test_kill_9_mid_ray_job_recomputes_at_most_one_partition_per_actor(tmp_path: Path, ray_cluster: Any) -> None:
    from moodboard.jobs.ray_runner import RayRunner

    work, started = tmp_path / "work", tmp_path / "started.txt"
    pythonpath = os.pathsep.join([str(SRC), str(REPO)])
    args = {"work": str(work), "started": str(started), "pythonpath": pythonpath}
    env = {**os.environ, "PYTHONPATH": pythonpath}
    child = subprocess.Popen([sys.executable, "-c", _KILLED_RAY_JOB, json.dumps(args)], env=env)
    deadline = time.monotonic() + 90
    while len(list(work.glob("part-*.done"))) < 3 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(1.0)  # the child's Ray shares its fate; give its actors a moment to die
    done_at_kill = {int(p.stem.split("-")[1]) for p in work.glob("part-*.done")}
    started_at_kill = [int(line) for line in started.read_text().split()]
    in_flight = set(started_at_kill) - done_at_kill
    assert 3 <= len(done_at_kill) < 10, "the child must be killed mid-job"
    assert len(in_flight) <= 2  # two actors, one partition each

    log = tmp_path / "rerun.txt"

    class Recording:
        def __call__(self, items: Any) -> PartitionOutput:
            with open(log, "a") as fh:
                fh.write(f"{items[0][0]}\n")
            return PartitionOutput({"x": np.array([v for _, v in items]) * 2}, {})

    parts = make_partitions([(i // 3, i) for i in range(30)], 3)
    store = PartitionStore(str(work))
    report = RayRunner(JobsSettings(runner="ray", ray_actors=2)).run(parts, Recording, store)
    recomputed = {int(line) for line in log.read_text().split()} & set(started_at_kill)
    assert set(report.reused) == done_at_kill
    assert set(report.computed) == set(range(10)) - done_at_kill
    assert recomputed <= in_flight  # only partitions that were in flight at the kill ran twice
    for part in parts:
        np.testing.assert_array_equal(store.read(part).arrays["x"], [2 * v for _, v in part.items])
