"""Ordered, prefetched thread-pool mapping: decode the next batches while the model runs on this one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _safe(fn: Callable[[T], R], item: T) -> R | Exception:
    try:
        return fn(item)
    except Exception as exc:
        return exc


def prefetch_map(
    items: Iterable[T],
    fn: Callable[[T], R],
    *,
    batch_size: int,
    workers: int,
    prefetch: int = 2,
) -> Iterator[tuple[list[T], list[R | Exception]]]:
    """Apply `fn` to items in a thread pool, yielding ordered batches while later batches decode.

    Each yielded pair is `(batch_items, results)` where a result is the value or the exception `fn`
    raised for that item, so one unreadable image never stops a job. Up to `prefetch` batches are
    decoded ahead of the consumer, which is what lets decoding overlap inference.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    pending: deque[tuple[list[T], list[Future[R | Exception]]]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        batch: list[T] = []

        def submit(chunk: list[T]) -> None:
            pending.append((chunk, [pool.submit(_safe, fn, it) for it in chunk]))

        for item in items:
            batch.append(item)
            if len(batch) == batch_size:
                submit(batch)
                batch = []
                while len(pending) > prefetch:
                    done_items, futs = pending.popleft()
                    yield done_items, [f.result() for f in futs]
        if batch:
            submit(batch)
        while pending:
            done_items, futs = pending.popleft()
            yield done_items, [f.result() for f in futs]


def chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of `seq` of at most `size` items."""
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
