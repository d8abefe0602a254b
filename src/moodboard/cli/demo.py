"""`moodboard demo`: build a demo catalog on embedded defaults, prepare it, and serve the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from moodboard.catalog.demo import generated_catalog, myntra_with_prices
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.personas import seed_personas
from moodboard.catalog.report import IngestSummary
from moodboard.catalog.sources import open_source
from moodboard.cli.context import console, get_settings, open_store
from moodboard.core.errors import DependencyError
from moodboard.core.settings import Settings
from moodboard.core.snapshot import current_snapshot

MYNTRA_MAPPING = {"title": "productDisplayName", "category": "articleType", "color": "baseColour"}


def _data_dir(settings: Settings) -> Path | None:
    for cand in (settings.data_dir, Path("../shared/data")):
        if cand is not None and (cand / "myntra" / "catalog.jsonl").is_file():
            return cand.resolve()
    return None


def prepare_catalog(settings: Settings, catalog: Path | None, limit: int | None) -> tuple[Path, Path, dict[str, str]]:
    """Pick the demo catalog: an explicit path, else Myntra from the data dir, else a generated one."""
    demo_dir = settings.home / "demo"
    if catalog is not None:
        console.print(f"demo catalog: {catalog}")
        if catalog.name == "catalog.jsonl" and (catalog.parent / "images").is_dir() and "myntra" in str(catalog):
            out = myntra_with_prices(catalog.parent, demo_dir / "myntra-priced.jsonl", limit)
            return out, catalog.parent, MYNTRA_MAPPING
        return catalog, catalog.parent if catalog.is_file() else catalog, {}
    data = _data_dir(settings)
    if data is not None:
        console.print(f"demo catalog: Myntra from {data / 'myntra'} (synthetic prices, see catalog/demo.py)")
        out = myntra_with_prices(data / "myntra", demo_dir / "myntra-priced.jsonl", limit)
        return out, data / "myntra", MYNTRA_MAPPING
    console.print(
        "[yellow]no catalog found[/] (set MOODBOARD_DEMO_CATALOG or MOODBOARD_DATA_DIR): "
        "using a small GENERATED catalog of drawn home goods"
    )
    path = generated_catalog(demo_dir / "generated")
    return path, path.parent, {}


def ingest_demo(settings: Settings, path: Path, root: Path, mapping: dict[str, str]) -> IngestSummary:
    """Ingest the demo catalog with a progress bar (a no-op for rows already present)."""
    store = open_store(settings)
    src = open_source(path, root)
    ingestor = Ingestor(
        store, settings.ingest, settings.thumbnails_dir, settings.home / "reports" / "demo.jsonl", mapping
    )
    with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task("ingest", total=src.count())
        summary = ingestor.run(src, lambda n, _s: bar.update(task, advance=n))
    store.close()
    console.print(f"catalog: +{summary.accepted} new, {summary.skipped} already present, {summary.rejected} rejected")
    return summary


def _step(ctx: typer.Context, title: str, args: list[str]) -> None:
    """Run one `moodboard` sub-command in a child process with the same home and config (its own progress)."""
    root = ctx.find_root().params
    cmd = [sys.executable, "-m", "moodboard.cli.main"]
    if root.get("config"):
        cmd += ["--config", str(root["config"])]
    if root.get("home"):
        cmd += ["--home", str(root["home"])]
    console.print(f"[bold]{title}[/] (moodboard {' '.join(args)})")
    done = subprocess.run([*cmd, *args], check=False)
    if done.returncode != 0:
        raise DependencyError(f"demo step `moodboard {' '.join(args)}` failed", "see its message above, fix, re-run")


def build_models(settings: Settings, ctx: typer.Context) -> None:
    """Train the offline aligner (once), then build the search index and the taste graph."""
    if settings.embed.backend == "lite" and current_snapshot(settings.snapshots_dir, "aligner") is None:
        _step(ctx, "training the offline image-text aligner on the catalog", ["train", "align"])
    _step(ctx, "embedding and indexing the catalog (cached by content hash)", ["index"])
    _step(ctx, "building the taste graph", ["graph", "build"])


def register(app: typer.Typer) -> None:
    """Add the `demo` command."""

    @app.command()
    def demo(
        ctx: typer.Context,
        catalog: Annotated[
            Path | None, typer.Option(envvar="MOODBOARD_DEMO_CATALOG", help="catalog to demo (JSONL/CSV/folder)")
        ] = None,
        limit: Annotated[
            int,
            typer.Option(
                envvar="MOODBOARD_DEMO_LIMIT",
                help="Myntra: use an evenly spaced sample of N items (0 = all 9,583, about 6 minutes to "
                "build the first time on 2 cores)",
            ),
        ] = 0,
        serve: Annotated[bool, typer.Option(help="start the web app when ready")] = True,
    ) -> None:
        """Set up a demo catalog on embedded defaults and serve the app (prints the URL)."""
        settings = get_settings(ctx)
        settings.ensure_home()
        path, root, mapping = prepare_catalog(settings, catalog, limit or None)
        ingest_demo(settings, path, root, mapping)
        store = open_store(settings)
        users = seed_personas(store)
        store.close()
        console.print(f"personas: {', '.join(u.external_id for u in users)} (switch between them in the app)")
        build_models(settings, ctx)
        if not serve:
            return
        from moodboard.cli.serve import run_server

        url = f"http://{settings.api.host}:{settings.api.port}"
        console.print(f"[bold green]moodboard is running:[/] {url}  (API docs: {url}/docs; Ctrl+C to stop)")
        run_server(settings.model_copy(update={"log_level": "warning"}))  # the same fast defaults as `serve`
