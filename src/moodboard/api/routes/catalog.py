"""Catalog read endpoints: pins, a pin's thumbnail, and catalog statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from moodboard.api.cards import display_category
from moodboard.api.schemas import CardsOut, PinCard, PinOut, pin_card, pin_out
from moodboard.api.services import ServicesDep
from moodboard.core.errors import MoodboardError, NotFoundError

router = APIRouter(tags=["catalog"])


@router.get("/pins", response_model=list[PinOut], summary="List pins")
def list_pins(
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[PinOut]:
    """A page of pins in catalog order."""
    return [pin_out(p) for p in services.store.list_pins(offset=offset, limit=limit)]


@router.get("/catalog/cards", response_model=CardsOut, summary="A page of the catalog as pin cards")
def catalog_cards(
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CardsOut:
    """The same page as `GET /pins`, as pin cards (source `catalog`): what a guest's home grid shows."""
    leaf = display_category(services)
    pins = services.store.list_pins(offset=offset, limit=limit)
    return CardsOut(
        results=[PinCard(**pin_card(p, offset + n, "catalog", category=leaf(p))) for n, p in enumerate(pins, 1)]
    )


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


class ProfileOut(BaseModel):
    """What the index learned about the catalog: example queries, currency and the filterable fields."""

    n_pins: int
    currency: str | None
    examples: list[str]
    fields: dict[str, list[str]]


@router.get("/catalog/profile", response_model=ProfileOut, summary="The catalog profile (examples, fields)")
def profile(services: ServicesDep) -> ProfileOut:
    """The live index's catalog profile: example queries for the UI and each filterable field's top values."""
    try:
        prof = services.runtime.search.current_index().profile
    except MoodboardError:
        return ProfileOut(n_pins=0, currency=None, examples=[], fields={})
    fields = {
        name: [prof.label(name, v) for v in list(f.values)[:20]]
        for name, f in prof.fields.items()
        if name in ("category", "color", *prof.attribute_fields()[:12])
    }
    return ProfileOut(n_pins=prof.n_pins, currency=prof.currency, examples=prof.examples, fields=fields)


@router.get("/catalog/stats", summary="Catalog statistics")
def stats(services: ServicesDep) -> dict[str, Any]:
    """Counts of pins, images, products, users, boards and events."""
    return services.store.stats()
