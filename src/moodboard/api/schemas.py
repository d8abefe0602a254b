"""Public response schemas shared by several routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from moodboard.core.records import Pin


class PinOut(BaseModel):
    """A pin as the public API shows it."""

    id: int
    external_id: str
    title: str
    description: str = ""
    category: str | None = None
    color: str | None = None
    attributes: dict[str, Any] = {}
    price: float | None = None
    currency: str | None = None
    merchant: str | None = None
    url: str | None = None
    availability: str = "unknown"
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    "external_id": "10000",
                    "title": "Oak Side Table, White",
                    "category": "Side tables",
                    "color": "White",
                    "price": 24.5,
                    "currency": "USD",
                    "thumbnail_url": "/pins/1/thumbnail",
                }
            ]
        }
    }


def pin_out(pin: Pin) -> PinOut:
    """Convert a stored pin to its public form."""
    return PinOut(
        id=pin.id,
        external_id=pin.external_id,
        title=pin.title,
        description=pin.description,
        category=pin.category,
        color=pin.color,
        attributes=pin.attributes,
        price=float(pin.product.price) if pin.product.price is not None else None,
        currency=pin.product.currency,
        merchant=pin.product.merchant,
        url=pin.product.url,
        availability=pin.product.availability.value,
        thumbnail_url=f"/pins/{pin.id}/thumbnail" if pin.image else None,
        width=pin.image.width if pin.image else None,
        height=pin.image.height if pin.image else None,
    )


class PinCard(BaseModel):
    """One result as every result-returning endpoint returns it: what a card shows, plus why and where.

    Search, shop the look, the assistant, the feed, related pins, boards and the catalog listing all put
    their pins in a `results` list of this shape, so a client reads one shape everywhere.
    """

    pin_id: int
    external_id: str
    title: str
    category: str | None = Field(None, description="the display category (the deepest known level)")
    color: str | None = None
    price: float | None = None
    currency: str | None = None
    merchant: str | None = None
    url: str | None = None
    availability: str = "unknown"
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    position: int = Field(description="1-based rank in its list")
    score: float | None = None
    source: str = Field(description="what produced it: search, look, assistant, walk, profile, popular, board, ...")
    why: str = Field("", description="a short reason to show under the card (may be empty)")


def pin_card(
    pin: Pin, position: int, source: str, *, score: float | None = None, why: str = "", category: str | None = None
) -> dict[str, Any]:
    """The `PinCard` fields of `pin` (a dict, so routes can add their own keys such as `sources`)."""
    return {
        "pin_id": pin.id,
        "external_id": pin.external_id,
        "title": pin.title,
        "category": category if category is not None else pin.category,
        "color": pin.color,
        "price": float(pin.product.price) if pin.product.price is not None else None,
        "currency": pin.product.currency,
        "merchant": pin.product.merchant,
        "url": pin.product.url,
        "availability": pin.product.availability.value,
        "thumbnail_url": f"/pins/{pin.id}/thumbnail" if pin.image else None,
        "width": pin.image.width if pin.image else None,
        "height": pin.image.height if pin.image else None,
        "position": position,
        "score": round(score, 6) if score is not None else None,
        "source": source,
        "why": why,
    }


class BoxOut(BaseModel):
    """A region's box in the photo's pixels."""

    left: int
    top: int
    right: int
    bottom: int


class SceneRegionOut(BaseModel):
    """One region of a scene photo (shop the look, an assistant photo turn); each endpoint adds its `results`
    (the region's products in that endpoint's card shape)."""

    id: int
    bbox: BoxOut
    label: str | None = Field(description="the category its products vote for, or a detector's class")
    score: float = Field(description="objectness in [0, 1]; 0 for the whole image")
    source: str = Field(description="the cue or detector that found it; `whole` = the whole photo")


class CardsOut(BaseModel):
    """A list of pin cards, best (or catalog order) first."""

    results: list[PinCard]
