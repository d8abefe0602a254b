"""Liveness and readiness endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from moodboard import __version__
from moodboard.api.services import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Report that the server process is alive (on the event loop: no thread-pool hop for a probe)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="Readiness: the catalog store answers")
def readyz(services: ServicesDep) -> dict[str, Any]:
    """Report whether the catalog store answers and how many pins it holds."""
    return {"status": "ready", "pins": services.store.count_pins(), "database": services.store.dialect}
