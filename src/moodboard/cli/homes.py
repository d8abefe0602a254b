"""Build a moodboard home the way a user does, in-process: `moodboard ingest`, (`train align`), `index`.

Nothing is written into the home by hand: the real commands run through Typer's runner, so an app that
`create_app` builds over the home serves exactly what `moodboard serve` would. Tests and benchmarks
share it (e.g. `benchmarks/goal_quality.py`, `tests/homes.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from moodboard.core.errors import MoodboardError
from moodboard.core.settings import Settings, load_settings

FAST_API = {"rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000, "warm_up": False}
"""In-process clients (tests, benchmarks) send hundreds of requests a minute: the rate limit is lifted."""

_DONE = (0, 3)  # success, or success with some rows rejected (EXIT_PARTIAL)


def cli(env: Mapping[str, str], *args: str) -> str:
    """Run one `moodboard` command in-process and return its output.

    Raises:
        MoodboardError: the command exited with an error (the message holds its output).
    """
    from moodboard.cli import main as cli_main

    result = CliRunner().invoke(cli_main.build_app(), list(args), env=dict(env))
    if result.exit_code not in _DONE:
        raise MoodboardError(
            f"`moodboard {' '.join(args)}` exited {result.exit_code}: {result.output.strip()} {result.exception!r}",
            "run the same command in a shell with the same MOODBOARD_* variables to see it fail",
        )
    return result.output


def home_env(home: Path, backend: str = "fake", **extra: str) -> dict[str, str]:
    """Environment for CLI commands on `home` with the given embedder backend (`fake` at 32 dims)."""
    env = {"MOODBOARD_HOME": str(home), "MOODBOARD_EMBED__BACKEND": backend, "MOODBOARD_INGEST__WORKERS": "1"}
    if backend == "fake":
        env["MOODBOARD_EMBED__DIM"] = "32"
    env.update(extra)
    return env


def build_home(
    home: Path,
    catalog: Path,
    *,
    mapping_file: Path | None = None,
    images_root: Path | None = None,
    backend: str = "fake",
    align: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Ingest `catalog` and index it with the real CLI; returns settings for serving the home."""
    environ = {**home_env(home, backend), **(env or {})}
    args = ["ingest", str(catalog)]
    if mapping_file is not None:
        args += ["--mapping-file", str(mapping_file)]
    if images_root is not None:
        args += ["--images-root", str(images_root)]
    cli(environ, *args)
    if align:
        cli(environ, "train", "align")
    cli(environ, "index")
    embed: dict[str, Any] = {"backend": backend}
    if backend == "fake":
        embed["dim"] = 32
    return load_settings(home=home, embed=embed, api=FAST_API)
