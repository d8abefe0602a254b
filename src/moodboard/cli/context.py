"""The CLI's composition root: settings from the global options, and the objects commands need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings, load_settings


@dataclass
class CliState:
    """What the root callback parsed: config file and home override."""

    config: Path | None = None
    home: Path | None = None
    settings: Settings | None = None


console = Console(stderr=True)


def get_settings(ctx: typer.Context) -> Settings:
    """Build (once) and return the settings for this invocation."""
    state: CliState = ctx.find_root().obj or CliState()
    if state.settings is None:
        overrides = {"home": state.home} if state.home else {}
        state.settings = load_settings(state.config, **overrides)
        ctx.find_root().obj = state
    return state.settings


def open_store(settings: Settings) -> CatalogStore:
    """Open (and migrate) the catalog store named by the settings."""
    settings.ensure_home()
    return CatalogStore.open(settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size)


JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
"""The `--json` option of a command that reports one result."""


def report(out: dict[str, Any], json_out: bool, line: str) -> None:
    """Print a command's result: `out` as one JSON line with `--json`, else the human `line` (to stderr)."""
    if json_out:
        typer.echo(json.dumps(out))
    else:
        console.print(line)
