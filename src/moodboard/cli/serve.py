"""`moodboard serve`: run the HTTP API and web UI with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from moodboard.cli.context import console, get_settings


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="bind address (MOODBOARD_API__HOST)")] = None,
        port: Annotated[int | None, typer.Option(help="port (MOODBOARD_API__PORT)")] = None,
    ) -> None:
        """Serve the HTTP API (OpenAPI at /docs) and the web UI."""
        import uvicorn

        from moodboard.api.warmup import create_warm_app
        from moodboard.core.settings import load_settings

        settings = get_settings(ctx)
        if host or port:
            api = settings.api.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
            settings = load_settings(None, **{**settings.model_dump(exclude={"api"}), "api": api.model_dump()})
        from moodboard.api.logs import configure_json_logging

        configure_json_logging(settings.log_level)
        app_ = create_warm_app(settings)
        console.print(f"moodboard serving {settings.database_url} on http://{settings.api.host}:{settings.api.port}")
        uvicorn.run(app_, host=settings.api.host, port=settings.api.port, log_level=settings.log_level, log_config=None)
