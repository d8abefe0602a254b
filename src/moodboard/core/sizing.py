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


def request_threads(serve: ServeSettings, waits_on_network: bool) -> int:
    """Requests a worker runs at once on its thread pool: the setting, else 4 per model thread, or anyio's
    40 when requests wait on a network service (an LLM server, a database server) and threads mostly wait.

    A worker's requests are mostly Python under one GIL: with anyio's 40 threads, 8 requests per worker
    shared the GIL in 5 ms slices and every one of them finished late. Four per core cut the p99 of text
    search and of assistant follow-ups by a third to a half at 16 connections (BENCHMARKS.md, "HTTP serving
    speed"); the text tower still gets enough callers at once to batch them (`core.coalesce`).
    """
    if serve.request_threads:
        return serve.request_threads
    return 40 if waits_on_network else 4 * torch_threads(serve)


def limit_native_threads(threads: int) -> None:
    """Hold this process's native thread pools (BLAS behind numpy, OpenMP, torch) to `threads` each.

    A server worker answers several requests at once on the thread pool, and each numpy product would
    otherwise start all the machine's BLAS threads: measured on the 9,583-pin index, one query's exact
    search took 3.2 ms with 2 BLAS threads against 0.58 ms with one, and 24 ms each with 8 concurrent
    callers against 0.16 ms (BENCHMARKS.md, "HTTP serving speed").
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    else:
        threadpool_limits(threads)  # the pools numpy already loaded
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency; a slim install may lack it
        return
    torch.set_num_threads(threads)
