"""Pins with their images and products: typed reads and batched, idempotent inserts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from moodboard.catalog.tables import ImageRow, PinRow, ProductRow
from moodboard.core.errors import NotFoundError
from moodboard.core.records import Availability, ImageInfo, Pin, Product

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True, slots=True)
class NewImage:
    """An image decoded by ingest, ready to store."""

    content_hash: str
    width: int
    height: int
    format: str
    byte_size: int
    phash: str
    thumbnail_path: str
    color_sig: str = ""
    duplicate_of_hash: str | None = None


@dataclass(frozen=True, slots=True)
class NewPin:
    """A validated pin ready to insert."""

    external_id: str
    title: str
    description: str = ""
    category: str | None = None
    color: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source_uri: str | None = None
    image: NewImage | None = None
    price: Decimal | None = None
    currency: str | None = None
    availability: Availability = Availability.UNKNOWN
    merchant: str | None = None
    url: str | None = None


MAX_ID = 2**63 - 1


def valid_id(value: int) -> bool:
    """Whether a number can be a row id (positive and within BIGINT), so lookups never overflow."""
    return 0 < value <= MAX_ID


def _to_pin(pin: PinRow, img: ImageRow | None, prod: ProductRow | None) -> Pin:
    product = Product()
    if prod is not None:
        product = Product(
            price=prod.price,
            currency=prod.currency,
            merchant=prod.merchant,
            url=prod.url,
            availability=Availability(prod.availability),
        )
    image = None
    if img is not None:
        image = ImageInfo(
            content_hash=img.content_hash,
            width=img.width,
            height=img.height,
            phash=img.phash,
            thumbnail_path=img.thumbnail_path,
            format=img.format,
            duplicate_of=img.duplicate_of,
        )
    return Pin(
        id=pin.id,
        external_id=pin.external_id,
        title=pin.title,
        description=pin.description or "",
        category=pin.category,
        color=pin.color,
        attributes=dict(pin.attributes or {}),
        product=product,
        image=image,
        source_uri=pin.source_uri,
        created_at=pin.created_at,
    )


class PinStore:
    """Read and insert pins, images and products."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Work through `sessions` (the catalog store's sessionmaker, shared by every part)."""
        self.sessions = sessions

    def _pin_query(self) -> Any:
        return (
            select(PinRow, ImageRow, ProductRow)
            .outerjoin(ImageRow, PinRow.image_id == ImageRow.id)
            .outerjoin(ProductRow, ProductRow.pin_id == PinRow.id)
        )

    def get_pins(self, ids: Sequence[int]) -> list[Pin]:
        """Pins for `ids`, in the given order; unknown (or impossible) ids are left out."""
        ids = [i for i in ids if valid_id(i)]
        if not ids:
            return []
        with self.sessions() as s:
            rows = s.execute(self._pin_query().where(PinRow.id.in_(list(ids)))).all()
        by_id = {r[0].id: _to_pin(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def get_pin(self, pin_id: int) -> Pin:
        """One pin by id.

        Raises:
            NotFoundError: no pin has this id.
        """
        pins = self.get_pins([pin_id])
        if not pins:
            raise NotFoundError(f"pin {pin_id} does not exist", "list pins with GET /pins or `moodboard catalog stats`")
        return pins[0]

    def get_pin_by_external_id(self, external_id: str) -> Pin:
        """One pin by its external (catalog) id."""
        with self.sessions() as s:
            pid = s.scalar(select(PinRow.id).where(PinRow.external_id == external_id))
        if pid is None:
            raise NotFoundError(f"no pin has external id {external_id!r}", "check the id in your catalog file")
        return self.get_pin(pid)

    def iter_pins(self, batch_size: int = 1000, after_id: int = 0) -> Iterator[list[Pin]]:
        """Yield all pins in id order, `batch_size` at a time (keyset pagination)."""
        last = after_id
        while True:
            with self.sessions() as s:
                rows = s.execute(self._pin_query().where(PinRow.id > last).order_by(PinRow.id).limit(batch_size)).all()
            if not rows:
                return
            batch = [_to_pin(*r) for r in rows]
            last = batch[-1].id
            yield batch

    def list_pins(self, offset: int = 0, limit: int = 50) -> list[Pin]:
        """A page of pins in id order."""
        with self.sessions() as s:
            rows = s.execute(self._pin_query().order_by(PinRow.id).offset(offset).limit(limit)).all()
        return [_to_pin(*r) for r in rows]

    def count_pins(self) -> int:
        """How many pins the catalog holds."""
        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(PinRow)) or 0)

    def existing_external_ids(self, external_ids: Sequence[str]) -> set[str]:
        """The subset of `external_ids` already stored."""
        found: set[str] = set()
        ids = list(dict.fromkeys(external_ids))
        with self.sessions() as s:
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                found.update(s.scalars(select(PinRow.external_id).where(PinRow.external_id.in_(chunk))))
        return found

    def image_phashes(self) -> list[tuple[str, str, str]]:
        """(content_hash, phash, color_sig) of every stored image that is not a near-duplicate, in id order."""
        with self.sessions() as s:
            rows = s.execute(
                select(ImageRow.content_hash, ImageRow.phash, ImageRow.color_sig)
                .where(ImageRow.duplicate_of.is_(None))
                .order_by(ImageRow.id)
            )
            return [(h, p, c) for h, p, c in rows]

    def add_pins(self, pins: Sequence[NewPin]) -> int:
        """Insert a batch of new pins with their images and products in ONE transaction.

        Pins whose external id already exists are skipped, so a re-run after a crash adds nothing twice.

        Returns:
            How many pins were inserted.
        """
        if not pins:
            return 0
        with self.sessions.begin() as s:
            return self._insert(s, pins)

    def _insert(self, s: Session, pins: Sequence[NewPin]) -> int:
        present = set(
            s.scalars(select(PinRow.external_id).where(PinRow.external_id.in_([p.external_id for p in pins])))
        )
        fresh = [p for p in dict((p.external_id, p) for p in pins).values() if p.external_id not in present]
        hashes = {p.image.content_hash for p in fresh if p.image} | {
            p.image.duplicate_of_hash for p in fresh if p.image and p.image.duplicate_of_hash
        }
        found = s.execute(select(ImageRow.content_hash, ImageRow.id).where(ImageRow.content_hash.in_(hashes)))
        image_ids: dict[str, int] = {h: i for h, i in found}
        for p in fresh:
            img = p.image
            if img is None or img.content_hash in image_ids:
                continue
            row = ImageRow(
                content_hash=img.content_hash,
                width=img.width,
                height=img.height,
                format=img.format,
                byte_size=img.byte_size,
                phash=img.phash,
                color_sig=img.color_sig,
                thumbnail_path=img.thumbnail_path,
                duplicate_of=image_ids.get(img.duplicate_of_hash) if img.duplicate_of_hash else None,
            )
            s.add(row)
            s.flush()
            image_ids[img.content_hash] = row.id
        for p in fresh:
            pin = PinRow(
                external_id=p.external_id,
                title=p.title,
                description=p.description,
                category=p.category,
                color=p.color,
                attributes=p.attributes,
                source_uri=p.source_uri,
                image_id=image_ids.get(p.image.content_hash) if p.image else None,
            )
            s.add(pin)
            s.flush()
            if any(v is not None for v in (p.price, p.currency, p.merchant, p.url)) or (
                p.availability is not Availability.UNKNOWN
            ):
                s.add(
                    ProductRow(
                        pin_id=pin.id,
                        price=p.price,
                        currency=p.currency,
                        availability=p.availability.value,
                        merchant=p.merchant,
                        url=p.url,
                    )
                )
        return len(fresh)
