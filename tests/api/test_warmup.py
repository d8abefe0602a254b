"""Background warm-up at server start: components are built before the first request, failures are contained."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodboard.api.app import build_services
from moodboard.api.services import Services
from moodboard.api.warmup import start_warm_up, warm_up
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.core.errors import SnapshotError
from moodboard.core.settings import Settings, load_settings
from moodboard.embed.embedder import make_embedder
from moodboard.jobs.index_job import run_index_job


@pytest.fixture
def indexed(tmp_path: Path, tiny_catalog: Path) -> Services:
    settings: Settings = load_settings(
        home=tmp_path / "home", ingest={"batch_size": 8, "workers": 1}, embed={"backend": "fake", "dim": 32}
    )
    services = build_services(settings)
    Ingestor(services.store, settings.ingest, settings.thumbnails_dir, settings.home / "r.jsonl").run(
        open_source(tiny_catalog)
    )
    run_index_job(settings, services.store, make_embedder(settings.embed, settings.snapshots_dir))
    return services


def test_warm_up_builds_search_and_assistant_before_any_request(indexed: Services) -> None:
    import gc

    gc.unfreeze()
    try:
        thread = start_warm_up(indexed)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert indexed.runtime.embedder.built and indexed.runtime.assistant.built  # the query model and the assistant
        assert gc.get_freeze_count() > 0  # the warmed heap is out of the collector's reach
    finally:
        gc.unfreeze()  # this test process goes on allocating and freeing: give the collector everything back


def test_warm_up_loads_the_taste_graph_snapshot(indexed: Services) -> None:
    from moodboard.jobs.graph_job import run_graph_job

    assert warm_up(indexed, [("graph", _graph_step())])["graph"] == "skipped: no taste graph snapshot yet"
    run_graph_job(indexed.store, indexed.settings)
    indexed.runtime.graph.reset()
    assert warm_up(indexed, [("graph", _graph_step())])["graph"].startswith("ready in")
    assert indexed.runtime.graph.get()._rec is not None  # the first feed request will not load it


def _graph_step():  # type: ignore[no-untyped-def]
    from moodboard.api.warmup import STEPS

    return dict(STEPS)["graph"]


def test_warm_up_reports_missing_pieces_and_failures_without_raising(indexed: Services) -> None:
    def no_index(_s: Services) -> None:
        raise SnapshotError("no search index yet", "run `moodboard index`")

    def broken(_s: Services) -> None:
        raise RuntimeError("disk on fire")

    out = warm_up(indexed, [("search", no_index), ("graph", broken), ("nothing", no_index)])
    assert out["search"] == "skipped: no search index yet"
    assert out["graph"].startswith("failed: RuntimeError: disk on fire")
    assert out["nothing"] == "skipped: no search index yet"


def test_create_warm_app_warms_only_when_asked(indexed: Services) -> None:
    import time

    from moodboard.api.warmup import create_warm_app

    cold = create_warm_app(indexed.settings.model_copy(update={"api": indexed.settings.api.model_copy(
        update={"warm_up": False})}))  # fmt: skip
    warm = create_warm_app(indexed.settings)
    deadline = time.monotonic() + 120
    while not warm.state.services.runtime.assistant.built and time.monotonic() < deadline:
        time.sleep(0.1)
    assert warm.state.services.runtime.embedder.built and warm.state.services.runtime.assistant.built
    assert not cold.state.services.runtime.assistant.built and not cold.state.services.runtime.embedder.built
