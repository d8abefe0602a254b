"""RFC 9457 problem-details responses: the only place moodboard errors become HTTP status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moodboard.core import errors as e

log = logging.getLogger("moodboard.api")

STATUS: list[tuple[type[e.MoodboardError], int]] = [
    (e.AuthError, 401),
    (e.ForbiddenError, 403),
    (e.NotFoundError, 404),
    (e.ConflictError, 409),
    (e.ModelMismatchError, 409),
    (e.RateLimitError, 429),
    (e.PayloadTooLargeError, 413),
    (e.ImageError, 422),
    (e.UnsafeURLError, 422),
    (e.InvalidInputError, 422),
    (e.FetchError, 502),
    (e.SnapshotError, 503),
    (e.DependencyError, 503),
    (e.ConfigError, 500),
]


def status_for(exc: e.MoodboardError) -> int:
    """The HTTP status for a moodboard error (most specific class wins)."""
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def problem(status: int, title: str, detail: str, request: Request, **extra: object) -> JSONResponse:
    """Build a problem+json response carrying the request id."""
    body = {
        "type": f"https://moodboard.dev/problems/{extra.pop('code', 'error')}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    headers = {}
    if "retry_after_s" in extra:
        headers["Retry-After"] = str(max(1, int(float(str(extra["retry_after_s"])) + 0.999)))
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    """Register the exception handlers that turn every error into problem JSON (never a traceback)."""

    @app.exception_handler(e.MoodboardError)
    async def _moodboard(request: Request, exc: e.MoodboardError) -> JSONResponse:
        extra: dict[str, object] = {"code": exc.code, "hint": exc.hint}
        if exc.field:
            extra["field"] = exc.field
        if isinstance(exc, e.RateLimitError):
            extra["retry_after_s"] = exc.retry_after_s
        status = status_for(exc)
        if status >= 500:
            log.error("request failed: %s", exc, extra={"request_id": getattr(request.state, "request_id", None)})
        return problem(status, type(exc).__name__, exc.message, request, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        first = errs[0] if errs else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])  # type: ignore[arg-type]
        return problem(
            422,
            "Invalid request",
            f"{where}: {first['msg']}",
            request,
            code="invalid_input",
            hint="fix the named field; see /docs for the schema",
            errors=errs,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTP error", str(exc.detail), request, code=f"http_{exc.status_code}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
        return problem(
            500,
            "Internal error",
            "the server hit an unexpected error; it has been logged with this request id",
            request,
            code="internal",
            hint="retry later; report the request_id if it persists",
        )
