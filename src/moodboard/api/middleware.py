"""The request-context middleware as a pure ASGI app: request id, rate limit, body-size guard, security
headers, latency metrics and one JSON log line per request.

Pure ASGI, not `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware` runs every request through an
extra task group and memory streams, which measured as most of the per-request overhead of `/healthz`
(see BENCHMARKS.md "HTTP serving speed").
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moodboard.api import problems
from moodboard.api.metrics import Metrics
from moodboard.api.ratelimit import RateLimiter
from moodboard.core.settings import Settings

log = logging.getLogger("moodboard.api")

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/static/", "/metrics", "/docs")
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probe and scrape paths: logged only when they fail (an orchestrator calls them every few seconds; a log
line per probe drowned the requests that matter and was a quarter of a `/healthz` answer's cost)."""
_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_CSP = (b"content-security-policy", CSP.encode())


def client_key(scope: Scope, auth: bytes | None) -> str:
    """Rate-limit identity: the bearer token or API key when present, else the client address."""
    if auth:
        return "k:" + auth[-32:].decode("latin-1")
    client = scope.get("client")
    return "ip:" + (client[0] if client else "?")


class RequestContext:
    """Wraps the app: every HTTP request gets an id, the rate limit, the size guard, headers, metrics, a log."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics, limiter: RateLimiter) -> None:
        """Wrap `app` with the limits of `settings`, recording into `metrics`."""
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.limiter = limiter
        self.log_requests = settings.serve.log_requests
        self._observers: dict[tuple[str, str, int], Any] = {}

    def _observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._observers.get(key)
        if child is None:
            child = self._observers[key] = self.metrics.latency.labels(route, method, str(status))
        child.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call (lifespan and websockets pass straight through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = b""
        auth: bytes | None = None
        length = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value[:64]
            elif name in (b"authorization", b"x-api-key"):
                auth = auth or value
            elif name == b"content-length":
                length = value
        request_id = rid.decode("latin-1") if rid else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        extra = [(b"x-request-id", request_id.encode("latin-1")), *_SECURITY]
        if not path.startswith("/docs"):  # Swagger UI needs an inline script; every other page gets a strict CSP
            extra.append(_CSP)
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            refusal = self._refusal(scope, path, auth, length)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self._observe(route, scope["method"], status, elapsed)
            quiet = path in QUIET_PATHS and status < 400
            if self.log_requests and not quiet and log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )

    def _refusal(self, scope: Scope, path: str, auth: bytes | None, length: bytes) -> Any:
        """A 429 or 413 problem response when the request must be refused, else None."""
        api = self.settings.api
        if not path.startswith(UNLIMITED_PREFIXES) and not path.endswith("/thumbnail"):
            wait = self.limiter.take(client_key(scope, auth))
            if wait > 0:
                self.metrics.rate_limited.inc()
                return problems.problem(
                    429,
                    "Too many requests",
                    f"rate limit of {api.rate_limit_per_minute} requests per minute exceeded",
                    Request(scope),
                    code="rate_limited",
                    hint=f"retry after {wait:.1f}s",
                    retry_after_s=wait,
                )
        if length.isdigit() and int(length) > api.max_body_bytes:
            return problems.problem(
                413,
                "Payload too large",
                f"request body is {length.decode()} bytes; the limit is {api.max_body_bytes}",
                Request(scope),
                code="too_large",
                hint="send a smaller body or raise MOODBOARD_API__MAX_BODY_BYTES",
            )
        return None
