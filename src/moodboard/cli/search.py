"""`moodboard index` (embed + index the catalog) and `moodboard search "..." [--image PATH] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from moodboard.cli.context import console, get_settings, open_store
from moodboard.core.errors import InvalidInputError
from moodboard.core.query import Filters
from moodboard.index.attributes import CODE_FIELDS, parse_filter


def _filters(pairs: list[str]) -> Filters:
    """`field=value[,value]` pairs (`field!=value` refuses values) as one filter; other fields are attributes."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"bad filter {pair!r}", "use --filter field=value, e.g. --filter color=red")
        key = key.strip()
        values = [v for v in value.split(",") if v]
        if key.endswith("!"):
            raw.setdefault("exclude", {}).setdefault(key[:-1].strip(), []).extend(values)
        elif key in ("price_min", "price_max"):
            raw[key] = value
        elif key in CODE_FIELDS:
            raw.setdefault(key, []).extend(values)
        else:
            raw.setdefault("attributes", {}).setdefault(key, []).extend(values)
    return parse_filter(raw)


def register(app: typer.Typer) -> None:
    """Add the `index` and `search` commands."""

    @app.command("index")
    def index_cmd(
        ctx: typer.Context,
        json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    ) -> None:
        """Embed every pin (cached by content hash), build the vector + lexical index, calibrate the
        relevance cutoff, and publish it as the live index snapshot."""
        from moodboard.embed.embedder import make_embedder
        from moodboard.jobs.index_job import run_index_job

        settings = get_settings(ctx)
        store = open_store(settings)
        embedder = make_embedder(settings.embed, settings.snapshots_dir)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=json_out) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = run_index_job(settings, store, embedder, progress=progress)
        store.close()
        out = {
            "snapshot": str(result.snapshot),
            "model_id": result.model_id,
            "count": result.count,
            "embedded": result.embedded,
            "cached": result.cached,
            "failed": result.failed,
            "calibration": result.calibration,
            "seconds": round(result.seconds, 2),
        }
        if json_out:
            typer.echo(json.dumps(out, indent=2))
        else:
            cal = result.calibration.get("text", {})
            console.print(
                f"indexed {result.count} pins with {result.model_id} ({result.embedded} embedded, "
                f"{result.cached} cached, {result.failed} failed) in {out['seconds']} s; "
                f"text cutoff {cal.get('cutoff', float('nan')):.3f} keeps {cal.get('relevant_kept', 0):.0%} "
                f"of title->own-image pairs and rejects {cal.get('null_rejected', 0):.0%} of nonsense queries "
                f"-> {result.snapshot}"
            )

    @app.command("search")
    def search_cmd(
        ctx: typer.Context,
        text: Annotated[str, typer.Argument(help="what to look for")] = "",
        image: Annotated[Path | None, typer.Option("--image", help="an image file to search with")] = None,
        pin: Annotated[int | None, typer.Option("--pin", help="search with a catalog pin's image")] = None,
        not_: Annotated[list[str] | None, typer.Option("--not", help="negative term (repeatable)")] = None,
        filter_: Annotated[
            list[str] | None, typer.Option("--filter", "-f", help="field=value[,value], e.g. color=red")
        ] = None,
        k: Annotated[int, typer.Option("--k", "-k", help="number of results")] = 10,
        image_weight: Annotated[float, typer.Option(help="weight of the image against the text")] = 1.0,
        mode: Annotated[str, typer.Option(help="hybrid, vector or lexical")] = "hybrid",
        no_cutoff: Annotated[bool, typer.Option("--no-cutoff", help="keep results below the cutoff")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="print results and facets as JSON")] = False,
    ) -> None:
        """Search the indexed catalog by text, an image, a pin, or a mix (with negatives and filters)."""
        from moodboard.catalog.images import ImageLimits, open_checked, read_capped
        from moodboard.index.bundle import load_current_index
        from moodboard.rank.search import SearchRequest
        from moodboard.runtime import build_runtime

        settings = get_settings(ctx)
        request = SearchRequest(
            text=text,
            pin_id=pin,
            negative_text=tuple(not_ or ()),
            filters=_filters(filter_ or []),
            k=k,
            image_weight=image_weight,
            mode=mode,  # type: ignore[arg-type]  # validated by the service
            cutoff=not no_cutoff,
        )
        loaded = None
        if image is not None:
            limits = ImageLimits(max_file_bytes=settings.ingest.max_file_bytes, max_pixels=settings.ingest.max_pixels)
            loaded = open_checked(read_capped(image, limits.max_file_bytes), limits).image
        load_current_index(settings.snapshots_dir, settings.index)  # a clear error when none was built
        store = open_store(settings)
        service = build_runtime(settings, store).search
        from dataclasses import replace

        response = service.search(replace(request, image=loaded))
        store.close()
        out = response.to_json()
        if json_out:
            typer.echo(json.dumps({"results": out["results"], "facets": out["facets"]}, indent=2))
            return
        if not response.hits:
            console.print(
                f"nothing relevant found ({response.below_cutoff} candidates scored below the catalog's "
                f"cutoff {response.cutoff}); try other words or --no-cutoff"
            )
            return
        table = Table("rank", "pin", "title", "score", "sources")
        for i, hit in enumerate(out["results"], 1):
            sources = ", ".join(f"{s}#{v['rank']}" for s, v in hit["sources"].items())
            table.add_row(str(i), str(hit["pin_id"]), hit["title"] or "", f"{hit['score']:.4f}", sources)
        console.print(table)
