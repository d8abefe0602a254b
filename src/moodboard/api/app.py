"""The FastAPI app factory: the API's one composition root.

`create_app(settings)` builds the runtime (`moodboard.runtime.build_runtime`, shared with the CLI) inside
the `Services` container, installs middleware and error handlers, and mounts every router in `ROUTERS`.
Nothing is built at import time.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from moodboard import __version__
from moodboard.api import problems
from moodboard.api.middleware import CSP, UNLIMITED_PREFIXES, RequestContext  # noqa: F401 (re-exported)
from moodboard.api.ratelimit import make_rate_limiter
from moodboard.api.services import Services
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings
from moodboard.core.sizing import request_threads
from moodboard.runtime import build_runtime

log = logging.getLogger("moodboard.api")

# Route modules, each exposing `router`; add one line to mount a new resource.
ROUTERS: list[str] = [
    "moodboard.api.routes.health",
    "moodboard.api.routes.docs",
    "moodboard.api.routes.catalog",
    "moodboard.api.routes.auth",
    "moodboard.api.routes.me",
    "moodboard.api.routes.boards",
    "moodboard.api.routes.events",
    "moodboard.api.routes.metrics",
    "moodboard.api.routes.search",
    "moodboard.api.routes.assistant",
    "moodboard.api.routes.graph",
    "moodboard.api.routes.ui",
    "moodboard.api.routes.look",
]


def build_services(settings: Settings, store: CatalogStore | None = None) -> Services:
    """Build the services container over the one runtime (`moodboard.runtime.build_runtime`)."""
    return Services(build_runtime(settings, store))


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Create the moodboard HTTP app for `settings` (or around prebuilt `services`, for tests)."""
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        db = settings.database.url  # empty = SQLite under the home
        remote = bool(settings.assistant.llm_base_url) or (bool(db) and not db.startswith("sqlite"))
        anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads(settings.serve, remote)
        yield
        services.close()

    app = FastAPI(
        title="moodboard",
        version=__version__,
        description="Conversational visual discovery: search, related pins, feeds, boards and an assistant.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from a bundled Swagger UI, not a CDN
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    _install_middleware(app, settings, services)
    for name in ROUTERS:
        app.include_router(importlib.import_module(name).router)
    return app


def _install_middleware(app: FastAPI, settings: Settings, services: Services) -> None:
    if settings.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"],
        )
    limiter = make_rate_limiter(settings.api, settings.serve)
    app.add_middleware(RequestContext, settings=settings, metrics=services.metrics, limiter=limiter)
    app.add_middleware(KnownMethods)  # outermost: a made-up method never reaches the metrics


class KnownMethods:
    """Answers 501 to an HTTP method no route serves, before the request middleware sees it.

    The latency histogram is labelled by method, so each made-up method (any token is a valid method)
    would add a child to it for the life of the process: unbounded memory anyone could spend.
    """

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass known methods (and non-HTTP scopes) on; answer the others with a problem response."""
        if scope["type"] == "http" and scope["method"] not in self.METHODS:
            body = {"type": "https://moodboard.dev/problems/http_501", "title": "Not implemented", "status": 501,
                    "detail": "unknown HTTP method", "hint": "use GET, POST, PUT, PATCH or DELETE"}  # fmt: skip
            await JSONResponse(body, status_code=501, media_type="application/problem+json")(scope, receive, send)
            return
        await self.app(scope, receive, send)
