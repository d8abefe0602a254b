"""The kill -9 tests' machinery: generated catalogs, the fork server that runs the CLI, and the procedure.

`check_kills(job, ...)` runs one job on a small generated catalog whose previous snapshot is live. A clean
run on a copy of the home records the job's file-system events (`kill_hook.py`); each seed then kills the
job at a random one of them, right before it or a random delay after it (inside the work between two
events). After every kill the snapshot a server would load verifies and the holder that served the
previous snapshot still answers as before (or with the complete new snapshot, when the kill came after
the swap). Then a rerun completes, reuses what the killed runs finished (vector and feature caches),
sweeps the dead runs' temp folders, and publishes a snapshot equal to the clean run's.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Event, EventType
from moodboard.core.settings import Settings, load_settings
from moodboard.core.snapshot import MANIFEST, current_snapshot, verify_snapshot
from tests.conftest import REPO
from tests.imagegen import COLOURS, SHAPES, make_image

SEEDS = (11, 22)
ENV = {
    "MOODBOARD_EMBED__BACKEND": "fake",
    "MOODBOARD_EMBED__DIM": "32",
    "MOODBOARD_EMBED__BATCH_SIZE": "3",
    "MOODBOARD_EMBED__WORKERS": "1",
    "MOODBOARD_INGEST__WORKERS": "1",
    "MOODBOARD_LOG_LEVEL": "warning",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def make_catalog(root: Path, start: int, n: int) -> Path:
    """`n` distinct generated images (colour x shape x size) with titles, as a JSONL catalog."""
    root.mkdir(parents=True, exist_ok=True)
    combos = [(c, s, 90 + 6 * k) for k in range(6) for c in COLOURS for s in SHAPES]
    rows = []
    for i in range(start, start + n):
        colour, shape, size = combos[i]
        make_image(root / f"{i}.png", colour, shape, size=size)
        rows.append({"id": f"k{i:03d}", "title": f"{colour} {shape} print {i}", "category": shape,
                     "color": colour, "price": 10 + i, "currency": "USD", "image": f"{i}.png"})  # fmt: skip
    path = root / f"catalog-{start}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def small_settings(home: Path) -> Settings:
    """Settings of the test homes (fake 32-d embedder, one ingest worker)."""
    return load_settings(home=home, embed={"backend": "fake", "dim": 32}, ingest={"workers": 1})


def ingest(home: Path, catalog: Path) -> None:
    """Ingest a catalog file into the home's SQLite store."""
    settings = small_settings(home)
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    try:
        Ingestor(store, settings.ingest, settings.thumbnails_dir, home / "r.jsonl").run(open_source(catalog))
    finally:
        store.close()


def engage(home: Path, round_: int) -> None:
    """Boards and saves for three users (more each round), so the graph and train jobs have something to learn."""
    store = CatalogStore.open(small_settings(home).database_url)
    try:
        pins = sorted(p.id for batch in store.iter_pins() for p in batch)
        t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=round_)
        for u in range(3):
            user = store.ensure_user(f"user{u}-{round_}")
            board = store.create_board(user.id, f"board {u} {round_}")
            mine = pins[u::3]
            for p in mine[:8]:
                store.add_pin_to_board(board.id, p)
            store.add_events([Event(user.id, p, EventType.SAVE, t0 + timedelta(minutes=i)) for i, p in enumerate(mine)])
    finally:
        store.close()


@dataclass
class Ran:
    """What one CLI run left: its exit status (negative: killed by that signal) and its output."""

    returncode: int
    stdout: str
    stderr: str


class ForkServer:
    """One `kill_hook --fork-server` process: imports once, forks a child per CLI run."""

    def __init__(self, tmp: Path) -> None:
        """Start the server (it answers once the CLI and torch are imported)."""
        env = {**os.environ, **ENV, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
        cmd = [sys.executable, "-m", "tests.hardening.kill_hook", "--fork-server"]
        self.tmp = tmp
        self.proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and json.loads(self.proc.stdout.readline())["ready"]
        self.runs = 0

    def run(self, home: Path, args: list[str], extra: dict[str, str] | None = None) -> Ran:
        """Run `moodboard ARGS` on `home` (with the kill hook's `extra` environment)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.runs += 1
        out, err = self.tmp / f"run{self.runs}.out", self.tmp / f"run{self.runs}.err"
        env = {**ENV, "MOODBOARD_HOME": str(home), **(extra or {})}
        request = {"args": args, "env": env, "stdout": str(out), "stderr": str(err)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        code = json.loads(self.proc.stdout.readline())["rc"]
        return Ran(code, out.read_text(), err.read_text())

    def close(self) -> None:
        """Stop the server."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def table_rows(db: Path) -> int:
    """Rows in every table of an SQLite file (0 when it does not exist)."""
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return sum(conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables)


def plain(obj: Any) -> Any:
    """JSON form of numpy values (rounded floats), so served answers compare with `==`."""
    if isinstance(obj, np.ndarray):
        return np.round(obj, 5).tolist() if obj.dtype.kind == "f" else obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj))


def _digests(snap: Path, skip: tuple[str, ...]) -> dict[str, str]:
    files = json.loads((snap / MANIFEST).read_text())["files"]
    return {k: v["sha256"] for k, v in files.items() if not k.endswith(skip)}


def image_feature_rows(db: Path) -> int:
    """Cached frozen image-tower features (the align job's finished work; text features are cheap)."""
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from features where key like 'open_clip-image%'").fetchone()[0])


@dataclass
class Job:
    """One job under test: its CLI, snapshot kind, how to read its served answers and its work cache."""

    name: str
    args: list[str]
    kind: str
    answers: Callable[[Path], Callable[[], Any]]  # home -> a holder's "serve now" function
    cache: str | None  # sqlite file under home/cache whose rows are finished work
    nondeterministic: tuple[str, ...] = ()  # files whose bytes may differ between equal runs
    before: list[list[str]] = field(default_factory=list)  # commands run before the job (its inputs)


def _build_before(root: Path, job: Job, run: Callable[..., Ran], extra: dict[str, str]) -> Path:
    """A home with catalog A, its engagement and the job's previous snapshot live; then catalog B arrives."""
    home = root / "home"
    ingest(home, make_catalog(root / "cat", 0, 24))
    engage(home, 0)
    for args in [*job.before, job.args]:
        first = run(home, args, extra)
        assert first.returncode == 0, first.stderr[-3000:]
    ingest(home, make_catalog(root / "cat", 24, 18))
    engage(home, 1)
    for args in job.before:  # the job's inputs are rebuilt on the new catalog; only the job is killed
        ready = run(home, args, extra)
        assert ready.returncode == 0, ready.stderr[-3000:]
    return home


def check_kills(job: Job, tmp_path: Path, server: ForkServer, request: pytest.FixtureRequest,
                extra: dict[str, str]) -> None:  # fmt: skip
    """Kill `job` at random points (several seeds), checking served answers, reuse, sweeping and the result."""
    _cli = server.run
    home = _build_before(tmp_path, job, _cli, extra)
    snapshots = home / "snapshots" / job.kind
    previous = current_snapshot(home / "snapshots", job.kind)
    assert previous is not None
    serve = job.answers(home)
    before = serve()

    clean_home = tmp_path / "clean-home"
    shutil.copytree(home, clean_home)
    trace_file = tmp_path / "trace.json"
    clean = _cli(clean_home, job.args, {**extra, "KILL_HOOK_TRACE": str(trace_file)})
    assert clean.returncode == 0, clean.stderr[-3000:]
    trace = json.loads(trace_file.read_text())
    clean_snap = current_snapshot(clean_home / "snapshots", job.kind)
    assert clean_snap is not None and clean_snap != previous
    after_clean = job.answers(clean_home)()
    assert len(trace) >= 4, trace

    cache = home / "cache" / job.cache if job.cache else None
    rows_before = table_rows(cache) if cache else 0
    kills = 0
    points: list[str] = []
    gaps = [(trace[i][0] if i < len(trace) else trace[-1][0] + 0.2) - trace[i - 1][0] for i in range(1, len(trace) + 1)]

    def finished() -> int:
        return (image_feature_rows(cache) if job.name == "align" else table_rows(cache)) if cache else 0

    def rerun_and_check_reuse() -> None:
        """Run to completion: exactly the images the killed runs did not finish are computed again."""
        rows = finished()
        rerun = _cli(home, job.args, extra)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        out = json.loads(rerun.stdout[rerun.stdout.index("{") :])
        computed = out.get("embedded", out.get("computed_images"))
        reuse.append(f"rerun with {rows} cached rows: {computed} computed" if cache else "rerun from scratch")
        if job.name in ("embed", "index"):
            assert out["embedded"] == 42 - rows and out["cached"] == rows, (out, rows_before, rows)
        elif job.name == "align":
            assert out["computed_images"] == 42 - rows, (out, rows_before, rows)
        assert serve() == after_clean

    reuse: list[str] = []
    for seed in (None, *SEEDS):  # the mid-work kill first, while the work caches are still partial
        if seed is None:  # and once inside the main work: after the work cache opens, else the longest stretch
            opened = [i for i, ev in enumerate(trace, 1) if job.cache and ev[2].endswith(job.cache)]
            at = opened[0] if opened else 2 + int(np.argmax(gaps[1:]))
            delay = gaps[at - 1] * random.Random(len(trace)).uniform(0.2, 0.8)
        else:
            rng = random.Random(seed)
            at = rng.randrange(1, len(trace) + 1)
            delay = 0.0 if rng.random() < 0.4 else rng.uniform(0.0, max(gaps[at - 1], 0.0))
        killed = _cli(home, job.args, {**extra, "KILL_HOOK_AT": str(at), "KILL_HOOK_DELAY_S": f"{delay:.4f}"})
        if killed.returncode == 0 and delay > 0:  # finished inside the delay: kill at the event itself instead
            delay = 0.0
            killed = _cli(home, job.args, {**extra, "KILL_HOOK_AT": str(at), "KILL_HOOK_DELAY_S": "0"})
        if killed.returncode == -signal.SIGKILL:
            kills += 1
            points.append(f"{trace[at - 1][1]} {trace[at - 1][2]} +{delay:.3f}s (cached rows {finished()})")
        else:
            assert killed.returncode == 0, killed.stderr[-3000:]
        live = current_snapshot(home / "snapshots", job.kind)
        assert live is not None
        verify_snapshot(live)  # what a server would load is whole, whatever the kill point
        assert serve() in (before, after_clean), f"seed {seed}: kill at event {at}+{delay:.3f}s {trace[at - 1]}"
        if seed is None:  # resume the mid-work kill now, while its caches are partial; then kill again on top
            rerun_and_check_reuse()
    assert kills >= 3, "the job finished before it could be killed; the test proves little"
    rerun_and_check_reuse()
    request.node.user_properties.append(("kill_points", points + reuse))
    print(f"{job.name}: killed at {points}; {reuse}")  # shown with -s; also in the junit XML
    leftovers = [p.name for p in snapshots.iterdir() if p.name.startswith((".tmp-", ".CURRENT."))]
    assert not leftovers, f"temp files of killed runs were not swept: {leftovers}"
    final = current_snapshot(home / "snapshots", job.kind)
    assert final is not None
    assert _digests(final, job.nondeterministic) == _digests(clean_snap, job.nondeterministic)
    assert serve() == after_clean
