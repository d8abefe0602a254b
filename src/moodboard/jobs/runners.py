"""Picks the job runner that `jobs.runner` settings name: this process, or Ray actors (optional extra)."""

from __future__ import annotations

from moodboard.core.errors import ConfigError
from moodboard.core.settings import JobsSettings
from moodboard.jobs.runner import JobRunner, LocalRunner


def make_runner(settings: JobsSettings) -> JobRunner:
    """The runner named by `settings.runner` ("local" or "ray")."""
    if settings.runner == "local":
        return LocalRunner(settings.worker_threads)
    if settings.runner == "ray":
        from moodboard.jobs.ray_runner import RayRunner

        return RayRunner(settings)
    raise ConfigError(f"unknown job runner {settings.runner!r}", "set MOODBOARD_JOBS__RUNNER to local or ray")
