"""The services container built once by `create_app` and handed to routes through a dependency.

Heavy components (embedder, indexes, graph) are loaded lazily on first use and cached here, so the
app starts fast and tests can inject fakes by setting attributes before the first request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from moodboard.api.metrics import Metrics
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Event
from moodboard.core.settings import Settings

T = TypeVar("T")


class Services:
    """Everything a request handler may need, built by the composition root."""

    def __init__(self, settings: Settings, store: CatalogStore) -> None:
        """Hold the settings and the catalog store; other components are added lazily."""
        self.settings = settings
        self.store = store
        self._lock = threading.Lock()
        self._components: dict[str, Any] = {}
        self._factories: dict[str, Callable[[Services], Any]] = {}
        self.metrics = Metrics()
        self.index_size: Callable[[], int | None] = lambda: None

    def register(self, name: str, factory: Callable[[Services], Any]) -> None:
        """Register a lazy component factory under `name` (called once, on first `get`)."""
        self._factories[name] = factory

    def provide(self, name: str, component: Any) -> None:
        """Set a component directly (tests inject fakes this way)."""
        self._components[name] = component

    def get(self, name: str, kind: type[T] | None = None) -> T:
        """Return the component `name`, building it on first use."""
        if name not in self._components:
            with self._lock:
                if name not in self._components:
                    self._components[name] = self._factories[name](self)
        return self._components[name]  # type: ignore[no-any-return]

    def has(self, name: str) -> bool:
        """Whether a component is built or can be built."""
        return name in self._components or name in self._factories

    def reset(self, name: str) -> None:
        """Drop a built component so the next `get` rebuilds it (after a snapshot swap)."""
        with self._lock:
            self._components.pop(name, None)

    def on_events(self, listener: Callable[[Sequence[Event]], None]) -> None:
        """Subscribe to engagement events the store records (with their ids); the taste graph's overlay does."""
        self.store.subscribe(listener)

    def close(self) -> None:
        """Release resources held by components and the store."""
        self.store.close()


def get_services(request: Request) -> Services:
    """FastAPI dependency returning the app's services container."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
