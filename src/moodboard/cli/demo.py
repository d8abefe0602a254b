"""`moodboard demo`: build a demo catalog on embedded defaults, prepare it, and serve the app."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from moodboard.catalog.demo import generated_catalog, with_synthetic_prices
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.personas import seed_personas
from moodboard.catalog.report import IngestSummary
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.cli.catalog import load_mapping
from moodboard.cli.context import console, get_settings, open_store
from moodboard.core.errors import DependencyError
from moodboard.core.settings import Settings
from moodboard.core.snapshot import current_snapshot


def prepare_catalog(
    settings: Settings,
    catalog: Path | None,
    mapping_file: Path | None,
    limit: int | None,
    synthetic_prices: bool,
    images_root: Path | None = None,
) -> tuple[Path, Path, dict[str, str]]:
    """Pick the demo catalog (an operator's path with its mapping, else a generated one); add demo prices
    to a JSONL catalog without any when asked."""
    demo_dir = settings.layout.demo
    if catalog is not None:
        mapping = load_mapping([], mapping_file)
        root = images_root or (catalog.parent if catalog.is_file() else catalog)
        console.print(f"demo catalog: {catalog}" + (f" (mapping {mapping_file})" if mapping_file else ""))
        if synthetic_prices and catalog.suffix == ".jsonl":
            console.print("adding deterministic synthetic prices (the catalog has none; see catalog/demo.py)")
            return with_synthetic_prices(catalog, demo_dir / "priced.jsonl", mapping, limit), root, mapping
        return catalog, root, mapping
    console.print(
        "[yellow]no catalog given[/] (set MOODBOARD_DEMO_CATALOG and MOODBOARD_DEMO_MAPPING): "
        "using a small GENERATED catalog of drawn home goods"
    )
    path = generated_catalog(demo_dir / "generated")
    return path, path.parent, {}


def category_groups(store: CatalogStore) -> Callable[[str], str | None]:
    """Map a pin's category to the group personas like: a path's second level (or the category itself)."""
    from moodboard.index.profile import learn_profile

    profile = learn_profile(p for batch in store.iter_pins(batch_size=2000) for p in batch)

    def group(raw: str) -> str | None:
        values = profile.values_of("category", raw)
        return values[min(1, len(values) - 1)] if values else None

    return group


def ingest_demo(settings: Settings, path: Path, root: Path, mapping: dict[str, str]) -> IngestSummary:
    """Ingest the demo catalog with a progress bar (a no-op for rows already present)."""
    store = open_store(settings)
    src = open_source(path, root)
    ingestor = Ingestor(
        store, settings.ingest, settings.thumbnails_dir, settings.layout.reports / "demo.jsonl", mapping
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
        mapping_file: Annotated[
            Path | None,
            typer.Option("--mapping-file", envvar="MOODBOARD_DEMO_MAPPING", help="field mapping file (TOML/JSON)"),
        ] = None,
        limit: Annotated[
            int,
            typer.Option(
                envvar="MOODBOARD_DEMO_LIMIT",
                help="with --synthetic-prices: an evenly spaced sample of N items (0 = all)",
            ),
        ] = 0,
        images_root: Annotated[
            Path | None,
            typer.Option("--images-root", envvar="MOODBOARD_DEMO_IMAGES_ROOT", help="folder of the catalog's images"),
        ] = None,
        synthetic_prices: Annotated[
            bool,
            typer.Option(envvar="MOODBOARD_DEMO_SYNTHETIC_PRICES", help="add demo prices to a JSONL catalog"),
        ] = False,
        serve: Annotated[bool, typer.Option(help="start the web app when ready")] = True,
    ) -> None:
        """Set up a demo catalog on embedded defaults and serve the app (prints the URL)."""
        settings = get_settings(ctx)
        settings.ensure_home()
        path, root, mapping = prepare_catalog(
            settings, catalog, mapping_file, limit or None, synthetic_prices, images_root
        )
        ingest_demo(settings, path, root, mapping)
        store = open_store(settings)
        users = seed_personas(store, group_of=category_groups(store))
        store.close()
        console.print(f"personas: {', '.join(u.external_id for u in users)} (switch between them in the app)")
        build_models(settings, ctx)
        if not serve:
            return
        from moodboard.cli.serve import run_server

        url = f"http://{settings.api.host}:{settings.api.port}"
        console.print(f"[bold green]moodboard is running:[/] {url}  (API docs: {url}/docs; Ctrl+C to stop)")
        run_server(settings.model_copy(update={"log_level": "warning"}))  # the same fast defaults as `serve`
