"""How many processes and threads a server runs on this machine: pure functions of the settings and the cores.

Both the HTTP edge (`api.pools`, `cli.serve`) and the composition root (`runtime`, which sizes the model
runtimes' thread pools) read them, so they live below both.
"""

from __future__ import annotations

import os

from moodboard.core.settings import ServeSettings


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(serve: ServeSettings) -> int:
    """Worker processes to run: the setting, or one per CPU core (at most 8)."""
    return serve.workers or min(8, cores())


def torch_threads(serve: ServeSettings) -> int:
    """Model threads per worker (torch and ONNX Runtime): the setting, or the cores shared out among the
    workers (at least 1)."""
    return serve.torch_threads or max(1, cores() // worker_count(serve))
