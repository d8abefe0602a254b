"""`moodboard demo --no-serve` end to end on the generated catalog: ingest, personas, aligner, index, graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_builds_everything_on_the_generated_catalog(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOODBOARD_")}
    env["MOODBOARD_HOME"] = str(tmp_path / "home")
    cmd = [sys.executable, "-m", "moodboard.cli.main"]
    done = subprocess.run(
        [*cmd, "demo", "--no-serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "GENERATED catalog" in done.stderr  # says plainly that no real catalog was found
    snaps = tmp_path / "home" / "snapshots"
    for kind in ("aligner", "index", "graph"):
        assert (snaps / kind / "CURRENT").is_file(), f"the demo built no {kind} snapshot"
    found = subprocess.run(
        [*cmd, "search", "red lamp", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert found.returncode == 0, found.stderr[-2000:]
    titles = [r["title"] for r in json.loads(found.stdout)["results"]]
    assert titles and sum("lamp" in t for t in titles[:5]) >= 3, titles
    again = subprocess.run(
        [*cmd, "demo", "--no-serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert again.returncode == 0 and "+0 new" in again.stderr  # a second run reuses what is there
