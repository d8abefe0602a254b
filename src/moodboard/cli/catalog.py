"""`moodboard ingest` and `moodboard catalog ...`: load a catalog and inspect it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.report import IngestSummary
from moodboard.catalog.rows import parse_mapping
from moodboard.catalog.sources import open_source
from moodboard.cli.context import console, get_settings, open_store
from moodboard.core.errors import InvalidInputError

EXIT_PARTIAL = 3

catalog_app = typer.Typer(help="Inspect the catalog.", no_args_is_help=True)


def load_mapping(pairs: list[str], mapping_file: Path | None) -> dict[str, str]:
    """The field mapping from a JSON/TOML file and `target=source` pairs (pairs win)."""
    mapping: dict[str, str] = {}
    try:
        if mapping_file is not None:
            text = mapping_file.read_text()
            if mapping_file.suffix == ".toml":
                import tomllib

                data = tomllib.loads(text)
            else:
                data = json.loads(text)
            mapping.update(parse_mapping([f"{k}={v}" for k, v in dict(data).items()]))
        mapping.update(parse_mapping(pairs))
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidInputError(f"bad field mapping: {exc}", "use --map target=source, e.g. --map title=name") from exc
    return mapping


def register(app: typer.Typer) -> None:
    """Add `ingest` and the `catalog` group."""

    @app.command()
    def ingest(
        ctx: typer.Context,
        source: Annotated[Path, typer.Argument(help="folder of images, .csv or .jsonl file")],
        map_: Annotated[
            list[str] | None, typer.Option("--map", "-m", help="target=source field mapping (repeatable)")
        ] = None,
        mapping_file: Annotated[Path | None, typer.Option("--mapping-file", help="JSON or TOML mapping file")] = None,
        report: Annotated[Path | None, typer.Option(help="where to write the rejected-rows report (JSONL)")] = None,
        images_root: Annotated[
            Path | None, typer.Option("--images-root", help="folder that relative image paths are inside")
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    ) -> None:
        """Ingest a catalog: validate rows, decode images, make thumbnails and hashes, commit in batches.

        Exit status: 0 when every row was accepted or already present, 3 when some rows were rejected
        (see the report), 2 for bad arguments, 4 when the source does not exist, 1 on other errors.
        """
        settings = get_settings(ctx)
        mapping = load_mapping(map_ or [], mapping_file)
        src = open_source(source, images_root)
        store = open_store(settings)
        report_path = report or settings.layout.reports / f"ingest-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
        ingestor = Ingestor(store, settings.ingest, settings.thumbnails_dir, report_path, mapping)
        total = src.count()
        with Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=console,
            disable=json_out and not console.is_terminal,
        ) as bar:
            task = bar.add_task("ingest", total=total, info="")

            def on_batch(n: int, s: IngestSummary) -> None:
                info = f"+{s.accepted} new, {s.skipped} present, {s.rejected} rejected"
                bar.update(task, advance=n, info=info)

            summary = ingestor.run(src, on_batch)
        store.close()
        if json_out:
            typer.echo(json.dumps(summary.as_dict(), indent=2))
        else:
            console.print(
                f"accepted {summary.accepted}, skipped {summary.skipped} (already present), "
                f"rejected {summary.rejected}, near-duplicates {summary.near_duplicates} "
                f"in {summary.elapsed_s:.1f}s"
            )
            if summary.rejected:
                console.print(f"rejected rows and how to fix them: {summary.report_path}")
        if summary.rejected:
            raise typer.Exit(EXIT_PARTIAL)

    @catalog_app.command("stats")
    def stats(
        ctx: typer.Context,
        json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """Show counts of pins, images, products, users, boards and events."""
        settings = get_settings(ctx)
        store = open_store(settings)
        data = store.stats()
        store.close()
        if json_out:
            typer.echo(json.dumps(data, indent=2))
            return
        for key, value in data.items():
            typer.echo(f"{key:>24}: {value}")

    app.add_typer(catalog_app, name="catalog")
