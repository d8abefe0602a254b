"""SIGKILL the ingest process at random points, re-run each time: the catalog ends exactly as a clean run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.imagegen import make_photo

N_ROWS = 120
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 photo-like rows plus a few exact and near duplicates of each other."""
    root = tmp_path_factory.mktemp("killcat")
    rows = []
    for i in range(N_ROWS):
        name = f"img{i:03d}.png"
        make_photo(root / name, seed=i % 100, size=120)  # rows 100-119 reuse images 0-19
        rows.append({"id": f"k{i:03d}", "title": f"item {i}", "price": i + 0.5, "currency": "USD", "image": name})
    (root / "catalog.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root / "catalog.jsonl"


def _ingest_cmd(catalog: Path) -> list[str]:
    return [sys.executable, "-m", "moodboard.cli.main", "ingest", str(catalog), "--json"]


def _env(home: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MOODBOARD_HOME=str(home),
        MOODBOARD_DATABASE__URL=url,
        MOODBOARD_INGEST__BATCH_SIZE="7",
        MOODBOARD_INGEST__WORKERS="2",
    )
    return env


def _snapshot(url: str) -> dict[str, object]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        pins = c.execute(
            text(
                "select p.external_id, p.title, i.content_hash, i.duplicate_of is not null, pr.price "
                "from pins p join images i on p.image_id = i.id left join products pr on pr.pin_id = p.id "
                "order by p.external_id"
            )
        ).all()
        n_images = c.execute(text("select count(*) from images")).scalar_one()
        dup_ext = c.execute(text("select count(*) - count(distinct external_id) from pins")).scalar_one()
    engine.dispose()
    norm = [(e, t, h, bool(d), None if p is None else f"{Decimal(str(p)):.2f}") for e, t, h, d, p in pins]
    return {"pins": norm, "images": n_images, "dup_external_ids": dup_ext}


def _run_to_completion(catalog: Path, env: dict[str, str]) -> None:
    done = subprocess.run(_ingest_cmd(catalog), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_sigkill_at_random_points_then_resume_matches_a_clean_run(
    db_url: str, big_catalog: Path, tmp_path: Path
) -> None:
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    _run_to_completion(big_catalog, _env(tmp_path / "clean-home", clean_url))
    expected = _snapshot(clean_url)
    assert len(expected["pins"]) == N_ROWS  # type: ignore[arg-type]

    env = _env(tmp_path / "home", db_url)
    rng = random.Random(1234)
    # kill points in committed-row space (the first during start-up), plus a random delay into the next batch
    thresholds = [0, *sorted(rng.sample(range(1, N_ROWS - 10), 4))]
    counter = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    kills = 0
    for threshold in thresholds:
        proc = subprocess.Popen(
            _ingest_cmd(big_catalog),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with counter.connect() as c:
                    done = c.execute(text("select count(*) from pins")).scalar_one()
            except Exception:  # the schema may not exist yet during start-up
                done = 0
            if done >= threshold:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    counter.dispose()
    assert kills >= 4, "the ingest finished before it could be killed; the test proves nothing"
    _run_to_completion(big_catalog, env)
    got = _snapshot(db_url)
    assert got["dup_external_ids"] == 0
    assert got == expected
    thumbs = list((tmp_path / "home" / "thumbnails").rglob("*"))
    assert not [p for p in thumbs if p.suffix == ".tmp"], "a half-written thumbnail survived"
