"""Schemathesis fuzzes every route of the OpenAPI schema: no input may produce a 5xx."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from moodboard.api.app import build_services, create_app
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.personas import seed_personas
from moodboard.catalog.sources import open_source
from moodboard.core.settings import load_settings
from moodboard.embed.embedder import make_embedder
from moodboard.jobs.graph_job import run_graph_job
from moodboard.jobs.index_job import run_index_job
from tests.imagegen import COLOURS, SHAPES, make_image

pytestmark = pytest.mark.slow


def _build_app(tmp: Path):  # type: ignore[no-untyped-def]
    """A complete dev-mode app: generated pins, a search index (fake embedder), personas and a taste graph."""
    root = tmp / "cat"
    root.mkdir(parents=True)
    rows = []
    for i, (c, s) in enumerate((c, s) for c in list(COLOURS)[:3] for s in SHAPES):
        make_image(root / f"{i}.png", c, s)
        row = {
            "id": f"f{i}",
            "title": f"{c} {s}",
            "category": s,
            "price": i + 1,
            "currency": "USD",
            "image": f"{i}.png",
        }
        rows.append(json.dumps(row))
    (root / "c.jsonl").write_text("\n".join(rows) + "\n")
    settings_ = load_settings(
        home=tmp / "home",
        ingest={"workers": 1},
        embed={"backend": "fake", "dim": 32},
        api={"rate_limit_per_minute": 100_000, "rate_limit_burst": 100_000},
    )
    services = build_services(settings_)
    Ingestor(services.store, settings_.ingest, settings_.thumbnails_dir, tmp / "r.jsonl").run(
        open_source(root / "c.jsonl")
    )
    run_index_job(settings_, services.store, make_embedder(settings_.embed, settings_.snapshots_dir))
    seed_personas(services.store)
    run_graph_job(services.store, settings_)
    return create_app(settings_, services)


def test_no_route_answers_5xx(tmp_path: Path) -> None:
    """Every operation, 25 generated cases each; all failures are collected and reported together."""
    app = _build_app(tmp_path)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, "the schema lost its routes"
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect, so one run reports every failing route
            failures.append(f"{op.label}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
