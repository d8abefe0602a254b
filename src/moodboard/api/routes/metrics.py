"""`GET /metrics` in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from moodboard.api.auth import resolve_caller
from moodboard.api.services import ServicesDep
from moodboard.core.errors import AuthError

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    """Request latency histograms, catalog and index sizes, cache hits (operator key unless metrics are public)."""
    if not services.settings.api.metrics_public and not resolve_caller(request, services).operator:
        raise AuthError("metrics need an operator API key", "send X-API-Key or set MOODBOARD_API__METRICS_PUBLIC=true")
    m = services.metrics
    m.pins.set(services.store.count_pins())
    size = services.index_size()
    if size is not None:
        m.index_size.set(size)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
