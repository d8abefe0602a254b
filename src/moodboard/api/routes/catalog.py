"""Catalog read endpoints: pins, a pin's thumbnail, and catalog statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from moodboard.api.schemas import PinOut, pin_out
from moodboard.api.services import ServicesDep
from moodboard.core.errors import NotFoundError

router = APIRouter(tags=["catalog"])


@router.get("/pins", response_model=list[PinOut], summary="List pins")
def list_pins(
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PinOut]:
    """A page of pins in catalog order."""
    return [pin_out(p) for p in services.store.list_pins(offset=offset, limit=limit)]


@router.get("/pins/{pin_id}", response_model=PinOut, summary="Get one pin")
def get_pin(pin_id: int, services: ServicesDep) -> PinOut:
    """One pin with its product data."""
    return pin_out(services.store.get_pin(pin_id))


@router.get("/pins/{pin_id}/thumbnail", summary="A pin's thumbnail image", response_class=FileResponse)
def thumbnail(pin_id: int, services: ServicesDep) -> FileResponse:
    """The pin's thumbnail (JPEG), cacheable for a day."""
    pin = services.store.get_pin(pin_id)
    if pin.image is None:
        raise NotFoundError(f"pin {pin_id} has no image", "re-ingest it with an image")
    path = services.settings.thumbnails_dir / pin.image.thumbnail_path
    if not path.is_file():
        raise NotFoundError(f"thumbnail of pin {pin_id} is missing on disk", "re-run `moodboard ingest`")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/catalog/stats", summary="Catalog statistics")
def stats(services: ServicesDep) -> dict[str, Any]:
    """Counts of pins, images, products, users, boards and events."""
    return services.store.stats()
