"""The FastAPI app factory: the API's one composition root.

`create_app(settings)` builds the runtime (`moodboard.runtime.build_runtime`, shared with the CLI) inside
the `Services` container, installs middleware and error handlers, and mounts every router in `ROUTERS`.
Nothing is built at import time.
"""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from moodboard import __version__
from moodboard.api import problems
from moodboard.api.ratelimit import TokenBuckets
from moodboard.api.services import Services
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings
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


CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/static/", "/metrics", "/docs")


def _client_key(request: Request) -> str:
    """Rate-limit identity: the bearer token or API key when present, else the client address."""
    auth = request.headers.get("authorization") or request.headers.get("x-api-key")
    if auth:
        return "k:" + auth[-32:]
    return "ip:" + (request.client.host if request.client else "?")


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched")


def _install_middleware(app: FastAPI, settings: Settings, services: Services) -> None:
    buckets = TokenBuckets(settings.api.rate_limit_per_minute, settings.api.rate_limit_burst)
    if settings.api.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"],
        )

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = rid
        started = time.perf_counter()
        length = request.headers.get("content-length")
        path = request.url.path
        limited = not path.startswith(UNLIMITED_PREFIXES) and not path.endswith("/thumbnail")
        wait = buckets.take(_client_key(request)) if limited else 0.0
        if wait > 0:
            services.metrics.rate_limited.inc()
            response: Response = problems.problem(
                429,
                "Too many requests",
                f"rate limit of {settings.api.rate_limit_per_minute} requests per minute exceeded",
                request,
                code="rate_limited",
                hint=f"retry after {wait:.1f}s",
                retry_after_s=wait,
            )
        elif length and length.isdigit() and int(length) > settings.api.max_body_bytes:
            response = problems.problem(
                413,
                "Payload too large",
                f"request body is {length} bytes; the limit is {settings.api.max_body_bytes}",
                request,
                code="too_large",
                hint="send a smaller body or raise MOODBOARD_API__MAX_BODY_BYTES",
            )
        else:
            response = await call_next(request)
        elapsed = time.perf_counter() - started
        services.metrics.latency.labels(_route_template(request), request.method, str(response.status_code)).observe(
            elapsed
        )
        response.headers["x-request-id"] = rid
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("x-frame-options", "DENY")
        response.headers.setdefault("referrer-policy", "same-origin")
        if not path.startswith("/docs"):  # Swagger UI needs an inline script; every other page gets a strict CSP
            response.headers.setdefault("content-security-policy", CSP)
        log.info(
            "request",
            extra={
                "request_id": rid,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response
