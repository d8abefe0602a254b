"""Typed records passed between layers: pins, boards, users, events and candidates."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


class EventType(enum.StrEnum):
    """Kinds of engagement a user can have with a pin."""

    VIEW = "view"
    CLICK = "click"
    SAVE = "save"
    HIDE = "hide"
    PURCHASE = "purchase"


EVENT_WEIGHTS: dict[EventType, float] = {
    EventType.VIEW: 0.1,
    EventType.CLICK: 0.3,
    EventType.SAVE: 1.0,
    EventType.PURCHASE: 1.0,
    # A hide cancels any earlier positive engagement between the user and the pin: summed weights <= 0
    # drop the edge at graph build time, so a hidden pin never leads a walk anywhere.
    EventType.HIDE: -10.0,
}
"""The one weight table of engagement (save > click > view; hide negative): the taste graph's edges and
overlay and an assistant session's anonymous profile all weigh events with it."""


class Availability(enum.StrEnum):
    """Stock state of a product."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Product:
    """The shoppable side of a pin: price, currency, merchant, link, availability."""

    price: Decimal | None = None
    currency: str | None = None
    merchant: str | None = None
    url: str | None = None
    availability: Availability = Availability.UNKNOWN


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What ingest learned about a pin's image."""

    content_hash: str
    width: int
    height: int
    phash: str
    thumbnail_path: str
    format: str
    duplicate_of: int | None = None


@dataclass(frozen=True, slots=True)
class Pin:
    """A pin as stored in the catalog."""

    id: int
    external_id: str
    title: str
    description: str = ""
    category: str | None = None
    color: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    product: Product = field(default_factory=Product)
    image: ImageInfo | None = None
    source_uri: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Board:
    """A named collection of pins owned by a user."""

    id: int
    user_id: int
    name: str
    pin_ids: tuple[int, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A shopper known to the catalog."""

    id: int
    external_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One engagement: a user did something to a pin at a time, in a context."""

    user_id: int
    pin_id: int
    type: EventType
    ts: datetime
    context: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pin proposed by a candidate source: its score and 0-based rank there, and what led to it.

    `query_pin_id` and `via` name the engaged pin and the collection a walk went through (the "because"
    of a recommendation); `reasons` are short human-readable explanations.
    """

    pin_id: int
    score: float
    source: str
    reasons: tuple[str, ...] = ()
    rank: int = 0
    query_pin_id: int | None = None
    via: str | None = None
