"""Sizing of the server's processes and threads, and the bounded pool that heavy model work runs in.

Photo decoding and embedding (and assistant turns with a photo) take tens of milliseconds of CPU each.
Run on the shared thread pool, a burst of them would hold every thread and text searches would queue
behind them; run through `model_limiter`, at most `serve.model_concurrency` of them run at once per
worker and the rest wait on the event loop, while text searches keep the shared pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import anyio
import anyio.to_thread

from moodboard.core.settings import ServeSettings
from moodboard.core.sizing import torch_threads
from moodboard.runtime import Lazy

T = TypeVar("T")


class HasModelPool(Protocol):
    """What owns the bounded pool (the app's `Services`), without importing it."""

    @property
    def model_pool(self) -> Lazy[anyio.CapacityLimiter]:
        """The pool, built on first use."""
        ...


def model_concurrency(serve: ServeSettings) -> int:
    """Heavy model calls at once per worker: the setting, or one per torch thread."""
    return serve.model_concurrency or torch_threads(serve)


def model_limiter(services: HasModelPool) -> anyio.CapacityLimiter:
    """This app's bounded pool for photo work (built on first use, inside the event loop)."""
    return services.model_pool.get()


async def run_model(services: HasModelPool, func: Callable[..., T], *args: object) -> T:
    """Run `func(*args)` on a thread from the bounded model pool."""
    return await anyio.to_thread.run_sync(func, *args, limiter=model_limiter(services))
