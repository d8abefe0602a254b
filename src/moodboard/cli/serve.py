"""`moodboard serve`: run the HTTP API and web UI with uvicorn, in one or several worker processes.

Workers are separate processes (uvicorn's supervisor, one listening socket): Python runs one request's
Python code at a time per process, so a 2-core machine serves about twice as many searches with two
workers (measured in BENCHMARKS.md "HTTP serving speed"). Each worker loads the snapshots itself; the
taste graph is memory-mapped, so its pages are shared through the page cache rather than copied. The rate
limiter's buckets live in one shared-memory file, so a client's quota is the same however many workers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from moodboard.cli.context import console, get_settings
from moodboard.core.settings import Settings

_WORKER_SETTINGS = "_MOODBOARD_WORKER_SETTINGS"  # the parent's resolved settings, as JSON, for spawned workers


def uvicorn_options(settings: Settings, workers: int | None = None) -> dict[str, Any]:
    """The uvicorn keyword arguments `serve` uses (the HTTP benchmark serves its bare baseline with them)."""
    from moodboard.core.sizing import worker_count

    return {
        "host": settings.api.host,
        "port": settings.api.port,
        "workers": workers or worker_count(settings.serve),
        "log_level": settings.log_level,
        "log_config": None,
        "access_log": False,  # the request middleware logs every request itself
        "backlog": settings.serve.backlog,
    }


def configure_worker(settings: Settings) -> None:
    """Per-process setup before the app is built: JSON logs and torch's thread count."""
    from moodboard.api.logs import configure_json_logging
    from moodboard.core.sizing import torch_threads

    configure_json_logging(settings.log_level)
    threads = torch_threads(settings.serve)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; a slim install may lack it
        return
    torch.set_num_threads(threads)


def worker_app() -> Any:
    """The app of one spawned worker process, from the settings the `serve` parent handed down."""
    from moodboard.api.warmup import create_warm_app
    from moodboard.core.settings import load_settings

    settings = load_settings(None, **Settings.model_validate_json(os.environ[_WORKER_SETTINGS]).model_dump())
    configure_worker(settings)
    return create_warm_app(settings)


def run_server(settings: Settings) -> None:
    """Serve `settings` until interrupted: in this process with one worker, else under uvicorn's supervisor."""
    import uvicorn

    from moodboard.api.ratelimit import SharedTokenBuckets

    options = uvicorn_options(settings)
    workers = options["workers"]
    if workers == 1:
        configure_worker(settings.model_copy(update={"serve": settings.serve.model_copy(update={"workers": 1})}))
        from moodboard.api.warmup import create_warm_app

        uvicorn.run(create_warm_app(settings), **{**options, "workers": None})
        return
    folder = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    shm = SharedTokenBuckets.create(folder, f"moodboard-ratelimit-{os.getpid()}-{settings.api.port}")
    serve = settings.serve.model_copy(update={"rate_limit_file": str(shm), "workers": workers})
    os.environ[_WORKER_SETTINGS] = settings.model_copy(update={"serve": serve}).model_dump_json()
    try:
        uvicorn.run("moodboard.cli.serve:worker_app", factory=True, **options)
    finally:
        shm.unlink(missing_ok=True)


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""

    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="bind address (MOODBOARD_API__HOST)")] = None,
        port: Annotated[int | None, typer.Option(help="port (MOODBOARD_API__PORT)")] = None,
        workers: Annotated[
            int | None, typer.Option(help="worker processes (MOODBOARD_SERVE__WORKERS; default one per core)")
        ] = None,
    ) -> None:
        """Serve the HTTP API (OpenAPI at /docs) and the web UI."""
        from moodboard.core.settings import load_settings

        settings = get_settings(ctx)
        if host or port or workers:
            api = settings.api.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
            srv = settings.serve.model_copy(update={"workers": workers} if workers else {})
            settings = load_settings(
                None,
                **{**settings.model_dump(exclude={"api", "serve"}), "api": api.model_dump(), "serve": srv.model_dump()},
            )
        from moodboard.core.sizing import worker_count

        n = worker_count(settings.serve)
        console.print(
            f"moodboard serving {settings.database_url} on http://{settings.api.host}:{settings.api.port} "
            f"({n} worker{'s' if n > 1 else ''})"
        )
        run_server(settings)
