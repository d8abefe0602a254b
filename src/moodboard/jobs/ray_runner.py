"""The Ray runner: the same partitions and mapper as the local runner, as Ray Data `map_batches` on actors.

Each partition travels as one row (its pickled items); an actor pool of `jobs.ray_actors` actors builds
the mapper once per actor with the job's `MapperFactory`, computes one partition per call and writes it
through the `PartitionStore` itself, so a partition is durable the moment its actor finishes it and a
killed job loses at most the partitions the actors held. On a cluster, point `jobs.work_url` at shared
storage (`s3://...`) so every node writes to the same place.

`RayRunner.call` runs an unpartitioned step (a training loop, the graph build) as one Ray task with the
actors' CPU/GPU request; its progress calls travel back through a Ray queue and are replayed here.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from moodboard.core.errors import DependencyError
from moodboard.core.settings import JobsSettings
from moodboard.jobs.runner import (
    MapperFactory,
    Partition,
    PartitionStore,
    ProgressFn,
    RunReport,
    compute_partition,
    run_partitions,
)

log = logging.getLogger(__name__)

R = TypeVar("R")


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise DependencyError("ray is not installed", 'pip install "ray[data]"') from exc
    return ray


def ensure_ray(settings: JobsSettings) -> Any:
    """Connect to `settings.ray_address`, or start a local Ray (`ray_cpus` CPUs) when it is empty."""
    ray = _ray()
    if not ray.is_initialized():
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}}
        if settings.ray_address:
            ray.init(address=settings.ray_address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(
                num_cpus=settings.ray_cpus or None,
                include_dashboard=False,
                log_to_driver=False,
                runtime_env=env,
            )
    return ray


class _PartitionActor:
    """A Ray Data actor: builds the mapper once, then computes and writes one partition per call."""

    def __init__(self, mapper_factory: MapperFactory, store_url: str, threads: int = 0) -> None:
        if threads > 0:
            import torch  # the mapper's model is torch-based whenever thread pinning was asked for

            torch.set_num_threads(threads)
        self.mapper = mapper_factory()
        self.store = PartitionStore(store_url)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        indexes, rows = [], []
        for payload in batch["payload"]:
            part: Partition[Any] = pickle.loads(payload)
            rows.append(compute_partition(self.mapper, self.store, part))
            indexes.append(part.index)
        return {"index": np.array(indexes, dtype=np.int64), "rows": np.array(rows, dtype=np.int64)}


class _QueueProgress:
    """A progress callback inside a Ray task: puts each call's arguments on a Ray queue for the driver."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def __call__(self, *args: Any) -> None:
        self.queue.put(args)


def _run_task(fn: Callable[..., Any], args: tuple[Any, ...], threads: int, queue: Any) -> Any:
    """The body of `RayRunner.call`'s task: pin torch threads like the actors, then run `fn`."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    return fn(*args, progress=_QueueProgress(queue)) if queue is not None else fn(*args)


class RayRunner:
    """Runs the missing partitions on a Ray actor pool (`jobs.ray_actors` actors)."""

    name = "ray"

    def __init__(self, settings: JobsSettings) -> None:
        """Keep the jobs settings; Ray is started (or joined) on the first run."""
        self.settings = settings

    def actor_threads(self) -> int:
        """torch threads per actor: `worker_threads`, else (local Ray only) this process's count when torch is loaded.

        Matching the driver keeps a local Ray run bit-identical to a local run (CPU reductions depend on
        the thread count); on a cluster Ray's default (one thread per reserved CPU) is kept.
        """
        if self.settings.worker_threads:
            return self.settings.worker_threads
        torch = sys.modules.get("torch")
        if self.settings.ray_address or torch is None:
            return 0
        return int(torch.get_num_threads())

    def run(
        self,
        partitions: Sequence[Partition[Any]],
        mapper_factory: MapperFactory,
        store: PartitionStore,
        progress: ProgressFn | None = None,
    ) -> RunReport:
        """Compute the missing partitions as `map_batches` over an actor pool; report as they finish."""

        def compute(todo: list[Partition[Any]]) -> Iterator[tuple[int, int]]:
            ray = ensure_ray(self.settings)
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False  # the caller shows progress
            ds = ray.data.from_items([{"payload": pickle.dumps(p)} for p in todo], override_num_blocks=len(todo))
            ds = ds.map_batches(
                _PartitionActor,
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=max(1, min(self.settings.ray_actors, len(todo)))),
                fn_constructor_args=(mapper_factory, store.url, self.actor_threads()),
                num_cpus=self.settings.ray_cpus_per_actor,
                num_gpus=self.settings.ray_gpus_per_actor or None,
            )
            for row in ds.iter_rows():
                yield int(row["index"]), int(row["rows"])

        return run_partitions(partitions, store, compute, progress)

    def call(self, fn: Callable[..., R], *args: Any, progress: Callable[..., None] | None = None) -> R:
        """Run `fn(*args)` as one Ray task (`ray_cpus_per_actor` CPUs, `ray_gpus_per_actor` GPUs).

        Progress calls made inside the task are replayed on `progress` here as they arrive; an error in
        the task is raised here as itself (unwrapped from Ray's `RayTaskError`).
        """
        ray = ensure_ray(self.settings)
        queue = None
        if progress is not None:
            from ray.util.queue import Queue

            queue = Queue()
        task = ray.remote(_run_task).options(
            num_cpus=self.settings.ray_cpus_per_actor, num_gpus=self.settings.ray_gpus_per_actor
        )
        ref = task.remote(fn, args, self.actor_threads(), queue)

        def drain() -> None:
            while queue is not None and progress is not None and not queue.empty():
                progress(*queue.get())

        try:
            while not ray.wait([ref], timeout=0.2)[0]:
                drain()
            result: R = ray.get(ref)
            drain()
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None  # the step's own error (e.g. InvalidInputError), not Ray's wrapper
            raise
        finally:
            if queue is not None:
                queue.shutdown()
        return result
