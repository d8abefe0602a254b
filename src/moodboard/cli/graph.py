"""`moodboard graph build` (build and publish the taste graph) and `moodboard recommend` (feed or related)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from moodboard.cli.context import console, get_settings, open_store
from moodboard.core.errors import InvalidInputError

graph_app = typer.Typer(help="Build and inspect the taste graph.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `graph` group and the `recommend` command."""
    app.add_typer(graph_app, name="graph")

    @graph_app.command("build")
    def build_cmd(
        ctx: typer.Context,
        json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    ) -> None:
        """Read pins, boards and events from the catalog, build the taste graph and publish it."""
        from moodboard.jobs.graph_job import run_graph_job
        from moodboard.jobs.runners import make_runner

        settings = get_settings(ctx)
        store = open_store(settings)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=json_out) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(f"reading {stage}" if stage != "built" else "built graph", total=None)
                bar.advance(tasks[stage], done)

            path, graph = run_graph_job(store, settings, progress=progress, runner=make_runner(settings.jobs))
        store.close()
        out = {
            "snapshot": str(path),
            "pins": graph.n_pins,
            "collections": graph.n_colls,
            "boards": graph.n_boards,
            "edges": graph.n_edges,
            "bytes_per_edge": round(graph.edge_bytes() / max(graph.n_edges, 1), 2),
            "pruned_boards": graph.meta["pruned_collections"],
            "events": graph.meta["events"],
        }
        if json_out:
            typer.echo(json.dumps(out, indent=2))
        else:
            console.print(
                f"taste graph: {out['pins']} pins, {out['boards']} boards, {out['collections'] - out['boards']} users, "
                f"{out['edges']} edges from {out['events']} events ({out['pruned_boards']} boards pruned) -> {path}"
            )

    @app.command("recommend")
    def recommend_cmd(
        ctx: typer.Context,
        user: Annotated[int | None, typer.Option("--user", help="home feed for this user id")] = None,
        pin: Annotated[int | None, typer.Option("--pin", help="pins related to this pin id")] = None,
        k: Annotated[int, typer.Option("--k", "-k", help="number of results")] = 10,
        seed: Annotated[int | None, typer.Option(help="walk seed (default: graph.seed)")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="print results as JSON")] = False,
    ) -> None:
        """Recommend from the taste graph: a user's feed (--user) or related pins (--pin), with reasons."""
        if (user is None) == (pin is None):
            raise InvalidInputError("pass exactly one of --user or --pin", "e.g. `moodboard recommend --user 3`")
        settings = get_settings(ctx)
        store = open_store(settings)
        from moodboard.runtime import Lazy, build_feed, build_live_graph

        feed = build_feed(settings, Lazy(lambda: build_live_graph(settings, store)))
        if pin is not None:
            store.get_pin(pin)
            recs = feed.related(pin, k, seed=seed, in_catalog=True)
        else:
            assert user is not None
            store.get_user(user)
            recs = feed.feed(user, k, seed=seed)
        titles = {p.id: p.title for p in store.get_pins([r.pin_id for r in recs.items])}
        store.close()
        if json_out:
            typer.echo(
                json.dumps(
                    {
                        "items": [
                            {
                                "pin_id": r.pin_id,
                                "title": titles.get(r.pin_id),
                                "score": round(r.score, 6),
                                "source": r.source,
                                "query_pin_id": r.query_pin_id,
                                "via": r.via,
                            }
                            for r in recs.items
                        ],
                        "query_pin_ids": recs.query_pin_ids,
                        "interest_pin_ids": recs.interest_pin_ids,
                        "fallback": recs.fallback,
                    },
                    indent=2,
                )
            )
            return
        if recs.fallback:
            console.print(f"[yellow]note:[/] {recs.fallback}")
        table = Table("#", "pin", "title", "score", "because")
        for i, r in enumerate(recs.items, 1):
            why = f"pin {r.query_pin_id} via {r.via}" if r.query_pin_id is not None else r.source
            table.add_row(str(i), str(r.pin_id), titles.get(r.pin_id, ""), f"{r.score:.4g}", why)
        console.print(table)
