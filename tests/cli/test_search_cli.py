"""`moodboard index` and `moodboard search` end to end on the tiny generated catalog (fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moodboard.cli import main as cli_main
from tests.conftest import make_image


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    cli_main.build_app()
    return cli_main.app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MOODBOARD_HOME": str(tmp_path / "home"),
        "MOODBOARD_EMBED__BACKEND": "fake",
        "MOODBOARD_EMBED__DIM": "32",
        "MOODBOARD_INGEST__WORKERS": "1",
    }


def _run(app, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_index_then_search_json(app, env: dict[str, str], tiny_catalog: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _run(app, env, "ingest", str(tiny_catalog))
    indexed = json.loads(_run(app, env, "index", "--json").stdout)
    assert indexed["count"] == 18 and indexed["embedded"] == 18

    out = json.loads(_run(app, env, "search", "yellow triangle", "--json", "-k", "3").stdout)
    assert set(out) == {"results", "facets"}
    assert set(out["results"][0]) == {"pin_id", "external_id", "title", "score", "sources"}
    assert out["results"][0]["title"] == "Yellow triangle print"

    query = tmp_path / "q.png"
    make_image(query, "blue", "square", size=140)
    by_image = json.loads(_run(app, env, "search", "--image", str(query), "--json", "-k", "3").stdout)
    assert by_image["results"][0]["title"] == "Blue square print"
    assert all(r["title"].startswith("Blue") for r in by_image["results"])

    filtered = json.loads(_run(app, env, "search", "print", "-f", "color=green", "--json", "-k", "18").stdout)
    assert filtered["results"] and all(r["title"].startswith("Green") for r in filtered["results"])


def test_reindex_embeds_nothing_new(app, env: dict[str, str], tiny_catalog: Path) -> None:  # type: ignore[no-untyped-def]
    _run(app, env, "ingest", str(tiny_catalog))
    _run(app, env, "index", "--json")
    again = json.loads(_run(app, env, "index", "--json").stdout)
    assert again["embedded"] == 0 and again["cached"] == 18  # the content-hash cache holds


def test_search_errors_exit_nonzero(app, env: dict[str, str], tiny_catalog: Path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["search", "red"], env=env)
    assert result.exit_code != 0  # no index yet
    _run(app, env, "ingest", str(tiny_catalog))
    _run(app, env, "index")
    bad = CliRunner().invoke(app, ["search", "red", "-f", "colour=red"], env=env)
    assert bad.exit_code != 0 and "colour" in str(bad.exception)
