"""End-to-end CLI tests for ingest and catalog stats, compared with golden output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from moodboard.cli.main import build_app

GOLDEN = Path(__file__).with_name("golden")


def _invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), ["--home", str(home), *args])
    return result.exit_code, result.stdout


def test_ingest_then_stats_json_matches_golden(tmp_path: Path, tiny_catalog: Path) -> None:
    code, out = _invoke(tmp_path, "ingest", str(tiny_catalog), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["accepted"], summary["rejected"]) == (18, 0)
    code, out = _invoke(tmp_path, "catalog", "stats", "--json")
    assert code == 0
    golden = GOLDEN / "tiny_stats.json"
    if os.environ.get("MOODBOARD_UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(json.loads(out), indent=2, sort_keys=True) + "\n")
    assert json.loads(out) == json.loads(golden.read_text())


def test_ingest_again_adds_zero(tmp_path: Path, tiny_catalog: Path) -> None:
    _invoke(tmp_path, "ingest", str(tiny_catalog))
    code, out = _invoke(tmp_path, "ingest", str(tiny_catalog), "--json")
    assert code == 0 and json.loads(out)["accepted"] == 0 and json.loads(out)["skipped"] == 18


def test_partial_ingest_exits_3_and_writes_report(tmp_path: Path, tiny_catalog: Path) -> None:
    with tiny_catalog.open("a") as fh:
        fh.write('{"id": "bad", "title": "no image"}\n')
    report = tmp_path / "rep.jsonl"
    code, out = _invoke(tmp_path, "ingest", str(tiny_catalog), "--json", "--report", str(report))
    assert code == 3
    assert json.loads(out)["rejected"] == 1
    row = json.loads(report.read_text())
    assert row["external_id"] == "bad" and row["field"] == "image" and row["fix"]


def test_errors_are_readable_and_exit_codes_documented(tmp_path: Path) -> None:
    """No traceback reaches the user; missing source → 4, bad mapping → 2."""
    cmd = [sys.executable, "-m", "moodboard.cli.main", "--home", str(tmp_path)]
    missing = subprocess.run([*cmd, "ingest", str(tmp_path / "nope.jsonl")], capture_output=True, text=True)
    assert missing.returncode == 4
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "c.jsonl").write_text("")
    bad_map = subprocess.run(
        [*cmd, "ingest", str(tmp_path / "c.jsonl"), "--map", "colour=x"], capture_output=True, text=True
    )
    assert bad_map.returncode == 2 and "unknown mapping target" in bad_map.stderr and "Traceback" not in bad_map.stderr


def test_every_command_has_help() -> None:
    app = build_app()
    runner = CliRunner()
    assert runner.invoke(app, ["--help"]).exit_code == 0
    for name in ("ingest", "serve", "catalog"):
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0 and "Usage" in res.stdout
