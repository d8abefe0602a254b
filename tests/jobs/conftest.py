"""Shared fixtures of the job tests: one local Ray cluster for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A local 2-CPU Ray cluster for the session (workers import this worktree's `moodboard`)."""
    try:
        import ray
    except ImportError as exc:
        pytest.skip(reason=f"ray cannot be imported ({exc}): pip install 'ray[data]'")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(SRC), str(REPO)])}},
    )
    yield ray
    ray.shutdown()
