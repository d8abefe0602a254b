"""The job runner: reader → mapper → writer over partitions, resumable, with local and Ray back ends.

As in clip-retrieval, a runner receives *builder functions* rather than objects, so the same loop runs in
this process or in Ray actors: the reader's items are cut into `Partition`s, a `MapperFactory` builds one
mapper per worker (a model loads once per actor, not once per partition), and a `PartitionStore` writes
each partition's output under a local folder or any fsspec URL (`s3://bucket/jobs/embed`).

Output layout under the store's URL (documented, stable):

    part-00000.npz    the partition's arrays (written to a temporary name, then moved into place)
    part-00000.done   JSON {"key": <digest of the partition's items>, "rows": n, "meta": {...}}

A partition is done exactly when its `.done` marker exists and names the partition's current key; the
marker is written only after the data file is in place. So a job killed at any moment, rerun with the
same items, recomputes only the partitions that were in flight (at most one per worker), and a partition
whose items changed is recomputed because its key changed.

A step that is one computation over all its input (a training loop, the taste graph's global
aggregation) is not partitioned: `JobRunner.call` runs it as one task where the runner runs its work
(this process, or one Ray task on the cluster, with the actors' CPU/GPU request).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from moodboard.core.errors import ConfigError, DependencyError, SnapshotError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Partition(Generic[T]):
    """One unit of resumable work: its position, a digest of its items, and the items."""

    index: int
    key: str
    items: tuple[T, ...]


class PartitionOutput(NamedTuple):
    """What a mapper returns for one partition: named arrays plus JSON-friendly metadata."""

    arrays: dict[str, NDArray[Any]]
    meta: dict[str, Any]


Mapper = Callable[[Sequence[Any]], PartitionOutput]
"""mapper(items of one partition) -> PartitionOutput"""
MapperFactory = Callable[[], Mapper]
"""Builds a mapper; called once per worker (a Ray actor, or once in the local runner)."""
ProgressFn = Callable[[int, int], None]
"""progress(items_done, items_total)"""


def make_partitions(items: Sequence[T], size: int, key_of: Callable[[T], str] = repr) -> list[Partition[T]]:
    """Cut `items` into consecutive partitions of at most `size`; each key digests its items' `key_of`."""
    if size < 1:
        raise ConfigError(f"partition size must be >= 1, got {size}", "set MOODBOARD_JOBS__PARTITION_SIZE")
    parts = []
    for index, start in enumerate(range(0, len(items), size)):
        chunk = tuple(items[start : start + size])
        digest = hashlib.sha256("\n".join(key_of(it) for it in chunk).encode("utf-8")).hexdigest()[:32]
        parts.append(Partition(index, digest, chunk))
    return parts


def _fs(url: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise DependencyError("fsspec is not installed", "pip install fsspec") from exc
    fs, path = fsspec.core.url_to_fs(url)
    return fs, str(path).rstrip("/")


class PartitionStore:
    """Partition files and done markers under one fsspec URL (a local path works as is)."""

    def __init__(self, url: str) -> None:
        """Use `url` (created if missing) as the job's output folder."""
        self.url = url
        self.fs, self.root = _fs(url)
        self.fs.makedirs(self.root, exist_ok=True)

    def _name(self, index: int, ext: str) -> str:
        return f"{self.root}/part-{index:05d}.{ext}"

    def done_marker(self, part: Partition[Any]) -> dict[str, Any] | None:
        """The partition's done marker when it is complete for its current items, else None."""
        path = self._name(part.index, "done")
        if not self.fs.exists(path):
            return None
        try:
            marker: dict[str, Any] = json.loads(self.fs.cat_file(path))
        except (OSError, ValueError):
            return None
        return marker if marker.get("key") == part.key else None

    def write(self, part: Partition[Any], out: PartitionOutput) -> None:
        """Write the partition's arrays atomically (temporary name, then move), then its done marker."""
        buf = io.BytesIO()
        np.savez(buf, **out.arrays)  # type: ignore[arg-type]
        final = self._name(part.index, "npz")
        tmp = f"{final}.tmp-{uuid.uuid4().hex}"
        with self.fs.open(tmp, "wb") as fh:
            fh.write(buf.getvalue())
        self.fs.mv(tmp, final)
        rows = max((len(a) for a in out.arrays.values()), default=0)
        marker = json.dumps({"key": part.key, "rows": rows, "meta": out.meta}, default=str).encode("utf-8")
        tmp_marker = f"{self._name(part.index, 'done')}.tmp-{uuid.uuid4().hex}"
        with self.fs.open(tmp_marker, "wb") as fh:
            fh.write(marker)
        self.fs.mv(tmp_marker, self._name(part.index, "done"))

    def read(self, part: Partition[Any]) -> PartitionOutput:
        """Read a done partition.

        Raises:
            SnapshotError: the partition is not done or its file is unreadable.
        """
        marker = self.done_marker(part)
        if marker is None:
            raise SnapshotError(f"partition {part.index} of {self.url} is not done", "rerun the job")
        try:
            with np.load(io.BytesIO(self.fs.cat_file(self._name(part.index, "npz")))) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"partition {part.index} of {self.url} is unreadable: {exc}", "rerun the job") from exc
        return PartitionOutput(arrays, dict(marker.get("meta") or {}))

    def clear(self) -> None:
        """Delete the job's output folder (after its results were published)."""
        if self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)


@dataclass
class RunReport:
    """What a runner did: which partitions it computed and which it found done already."""

    computed: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)
    seconds: float = 0.0


def compute_partition(mapper: Mapper, store: PartitionStore, part: Partition[Any]) -> int:
    """Run `mapper` on one partition and write its output; returns the number of items."""
    store.write(part, mapper(part.items))
    return len(part.items)


class JobRunner(Protocol):
    """Runs a mapper over every partition that is not done yet, writing each through the store."""

    name: str

    def run(
        self,
        partitions: Sequence[Partition[Any]],
        mapper_factory: MapperFactory,
        store: PartitionStore,
        progress: ProgressFn | None = None,
    ) -> RunReport:
        """Compute the missing partitions; returns which were computed and which reused."""
        ...

    def call(self, fn: Callable[..., R], *args: Any, progress: Callable[..., None] | None = None) -> R:
        """Run `fn(*args)` (with `progress=` when given) as one task; returns its result or raises its error."""
        ...


def pending(partitions: Sequence[Partition[Any]], store: PartitionStore) -> tuple[list[Partition[Any]], list[int]]:
    """Split partitions into (to compute, indexes already done)."""
    todo, done = [], []
    for part in partitions:
        (done.append(part.index) if store.done_marker(part) is not None else todo.append(part))
    return todo, done


def run_partitions(
    partitions: Sequence[Partition[Any]],
    store: PartitionStore,
    compute: Callable[[list[Partition[Any]]], Iterable[tuple[int, int]]],
    progress: ProgressFn | None = None,
) -> RunReport:
    """The loop every runner shares: reuse finished partitions, compute the rest, report progress.

    `compute(todo)` maps the partitions not done yet and yields (partition index, rows) as each finishes,
    in whatever order its workers finish them.
    """
    start = time.perf_counter()
    todo, reused = pending(partitions, store)
    total = sum(len(p.items) for p in partitions)
    done = total - sum(len(p.items) for p in todo)
    if progress is not None:
        progress(done, total)
    report = RunReport(reused=reused)
    if todo:
        for index, rows in compute(todo):
            report.computed.append(index)
            done += rows
            if progress is not None:
                progress(done, total)
    report.seconds = time.perf_counter() - start
    return report


class LocalRunner:
    """Runs partitions one after another in this process (the mapper may use threads inside)."""

    name = "local"

    def __init__(self, worker_threads: int = 0) -> None:
        """Pin torch to `worker_threads` CPU threads while mapping (0 = torch's default)."""
        self.worker_threads = worker_threads

    def run(
        self,
        partitions: Sequence[Partition[Any]],
        mapper_factory: MapperFactory,
        store: PartitionStore,
        progress: ProgressFn | None = None,
    ) -> RunReport:
        """Compute the missing partitions in order."""

        def compute(todo: list[Partition[Any]]) -> Iterator[tuple[int, int]]:
            set_worker_threads(self.worker_threads)
            mapper = mapper_factory()
            for part in todo:
                yield part.index, compute_partition(mapper, store, part)

        return run_partitions(partitions, store, compute, progress)

    def call(self, fn: Callable[..., R], *args: Any, progress: Callable[..., None] | None = None) -> R:
        """Run `fn(*args)` in this process (torch pinned to `worker_threads` when set)."""
        set_worker_threads(self.worker_threads)
        return fn(*args, progress=progress) if progress is not None else fn(*args)


def set_worker_threads(n: int) -> None:
    """Use `n` torch CPU threads in this process (0 = leave as is; no-op when torch is not loaded).

    CPU kernels split their reductions by thread count, so the same model on the same inputs can differ
    in the last bit between thread counts; runners pin it so local and Ray runs agree bit for bit.
    """
    torch = sys.modules.get("torch")
    if n > 0 and torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
