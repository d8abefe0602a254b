"""The request-side view of the runtime, handed to routes through a typed FastAPI dependency.

`Services` holds the `moodboard.runtime.Runtime` that `create_app` built (the same composition root
the CLI uses), the API's metrics, and the in-process engagement fan-out. Routes reach components as
typed attributes (`services.runtime.search`), never by string keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import anyio
from fastapi import Depends, Request

from moodboard.api.metrics import Metrics
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Event
from moodboard.core.settings import Settings
from moodboard.runtime import Lazy, Runtime


class Services:
    """Everything a request handler may need, built by the composition root."""

    def __init__(self, runtime: Runtime) -> None:
        """Wrap the runtime; the taste graph hears about events the store records (with their ids)."""
        self.runtime = runtime
        self.settings: Settings = runtime.settings
        self.store: CatalogStore = runtime.store
        self.store.subscribe(self._to_graph)
        self.metrics = Metrics()
        # the bounded pool for photo work (`api.pools`), built on first use inside the event loop
        self.model_pool: Lazy[anyio.CapacityLimiter] = Lazy(self._model_pool)
        self.index_size: Callable[[], int | None] = lambda: None

    def _model_pool(self) -> anyio.CapacityLimiter:
        from moodboard.api.pools import model_concurrency

        return anyio.CapacityLimiter(model_concurrency(self.settings.serve))

    def _to_graph(self, events: Sequence[Event]) -> None:
        # in-process fast path; other writers' events arrive through LiveGraph's store polling
        if self.runtime.graph.built:
            live = self.runtime.graph.get()
            for event in events:
                live.record(event)

    def on_events(self, listener: Callable[[Sequence[Event]], None]) -> None:
        """Subscribe to engagement events the store records (with their ids)."""
        self.store.subscribe(listener)

    def close(self) -> None:
        """Release resources held by components and the store."""
        self.runtime.close()


def get_services(request: Request) -> Services:
    """FastAPI dependency returning the app's services container."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
