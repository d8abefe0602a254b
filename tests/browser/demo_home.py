"""Builds the browser tests' app home: a Myntra subset (or a generated catalog), seeded personas, a search
index (fake embedder, so it builds in seconds) and a taste graph; then serves it with `moodboard serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from moodboard.catalog.demo import generated_catalog, with_synthetic_prices
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.personas import seed_personas
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings, load_settings
from moodboard.embed.embedder import make_embedder
from moodboard.jobs.graph_job import run_graph_job
from moodboard.jobs.index_job import run_index_job

MYNTRA_MAPPING = {"id": "id", "title": "productDisplayName", "category": "articleType", "color": "baseColour"}
MYNTRA_ITEMS = 400

# The served app reads these (plus MOODBOARD_HOME); the builder uses the same values.
SERVER_ENV = {
    "MOODBOARD_EMBED__BACKEND": "fake",
    "MOODBOARD_EMBED__DIM": "64",
    "MOODBOARD_API__DEV_MODE": "true",
    "MOODBOARD_LOG_LEVEL": "warning",
}


def home_settings(home: Path, data_dir: Path | None) -> Settings:
    """Settings of the test app's home."""
    return load_settings(
        home=home,
        data_dir=data_dir,
        embed={"backend": "fake", "dim": 64},
        ingest={"batch_size": 64, "workers": 2},
    )


def build_home(home: Path, data_dir: Path | None) -> str:
    """Ingest a small catalog, seed personas, index it and build the graph; returns what catalog it used."""
    settings = home_settings(home, data_dir)
    settings.ensure_home()
    myntra = data_dir / "myntra" if data_dir else None
    if myntra is not None and (myntra / "catalog.jsonl").is_file():
        path = with_synthetic_prices(
            myntra / "catalog.jsonl", home / "demo" / "myntra-priced.jsonl", MYNTRA_MAPPING, MYNTRA_ITEMS
        )
        root, mapping, used = myntra, MYNTRA_MAPPING, f"Myntra subset ({MYNTRA_ITEMS} items)"
    else:
        path = generated_catalog(home / "demo" / "generated")
        root, mapping, used = path.parent, {}, "generated catalog"
    store = CatalogStore.open(settings.database_url)
    try:
        ingestor = Ingestor(store, settings.ingest, settings.thumbnails_dir, home / "report.jsonl", mapping)
        summary = ingestor.run(open_source(path, root))
        if summary.accepted == 0:
            raise RuntimeError(f"no pins ingested from {path}")
        seed_personas(store)
        run_index_job(settings, store, make_embedder(settings.embed, settings.snapshots_dir))
        run_graph_job(store, settings)
    finally:
        store.close()
    return used


START_S = 180.0
"""How long a server may take to answer /readyz (a first readiness check verifies every snapshot's checksums;
on a loaded 2-core machine that took over a minute, with 1 s probes timing out)."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def warm_up(url: str) -> None:
    """One throw-away assistant turn, so the first test does not pay the assistant's build and model load
    inside a 20 s UI wait (regression: a CI run timed out on the first chat turn of a fresh server)."""
    sid = httpx.post(f"{url}/assistant/sessions", json={}, timeout=180).json()["session_id"]
    httpx.post(f"{url}/assistant/sessions/{sid}/messages", json={"message": "red"}, timeout=180)
    httpx.delete(f"{url}/assistant/sessions/{sid}", timeout=30)


def start_server(home: Path, data_dir: Path | None, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Run `moodboard serve` on 127.0.0.1:`port` and wait until it answers."""
    env = {**os.environ, **SERVER_ENV, "MOODBOARD_HOME": str(home)}
    if data_dir is not None:
        env["MOODBOARD_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, "-m", "moodboard.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200:
                warm_up(f"http://127.0.0.1:{port}")
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"server did not start within {START_S:.0f} s: {log.read_text()[-2000:]}")
