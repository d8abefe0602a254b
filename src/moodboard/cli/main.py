"""The `moodboard` command: root options, sub-command registration and error-to-exit-code mapping."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from moodboard import __version__
from moodboard.cli.context import CliState, console
from moodboard.core.errors import ConfigError, InvalidInputError, MoodboardError, NotFoundError

# Modules exposing `register(app)`; add one line to add commands.
REGISTRARS: list[str] = [
    "moodboard.cli.catalog",
    "moodboard.cli.serve",
    "moodboard.cli.demo",
    "moodboard.cli.search",
    "moodboard.cli.embed",
    "moodboard.cli.graph",
    "moodboard.cli.chat",
    "moodboard.cli.capacity",
    "moodboard.cli.train",
]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_NOT_FOUND = 4

app = typer.Typer(
    name="moodboard",
    help="Conversational visual discovery engine: ingest a catalog, index it, search, recommend, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"moodboard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file (MOODBOARD_CONFIG)")] = None,
    home: Annotated[Path | None, typer.Option("--home", help="data directory (MOODBOARD_HOME)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log debug output")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Global options shared by every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = CliState(config=config, home=home)


_registered: list[str] = []


def build_app() -> typer.Typer:
    """Register every sub-command (once) and return the root Typer app."""
    for name in REGISTRARS:
        if name not in _registered:
            importlib.import_module(name).register(app)
            _registered.append(name)
    return app


def exit_code_for(exc: MoodboardError) -> int:
    """The process exit code for a moodboard error."""
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, InvalidInputError | ConfigError):
        return EXIT_USAGE
    return EXIT_ERROR


def main() -> None:
    """Entry point: run the CLI, turning moodboard errors into a readable message and an exit code."""
    build_app()
    try:
        app(standalone_mode=False)
    except MoodboardError as exc:
        console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
        if exc.hint:
            console.print(f"[yellow]fix:[/] {escape(exc.hint)}", soft_wrap=True)
        sys.exit(exit_code_for(exc))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
