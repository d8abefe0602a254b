"""Acceptance: the real Myntra catalog ingests completely through the CLI, and a re-run adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodboard.cli.main import build_app

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
MAP = ["--map", "title=productDisplayName", "--map", "category=articleType", "--map", "color=baseColour"]


def test_myntra_ingests_all_9583_items_and_rerun_adds_zero(tmp_path: Path, data_dir: Path) -> None:
    catalog = data_dir / "myntra" / "catalog.jsonl"
    runner = CliRunner()
    first = runner.invoke(build_app(), ["--home", str(tmp_path), "ingest", str(catalog), *MAP, "--json"])
    assert first.exit_code == 0, first.stdout[-2000:]
    assert json.loads(first.stdout)["accepted"] == 9583
    stats = json.loads(runner.invoke(build_app(), ["--home", str(tmp_path), "catalog", "stats", "--json"]).stdout)
    assert stats["pins"] == 9583 and stats["pins_with_thumbnail"] == 9583
    assert len(list((tmp_path / "thumbnails").rglob("*.jpg"))) == stats["images"]
    again = runner.invoke(build_app(), ["--home", str(tmp_path), "ingest", str(catalog), *MAP, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["accepted"] == 0
    assert json.loads(again.stdout)["skipped"] == 9583
