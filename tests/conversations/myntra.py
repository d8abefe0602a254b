"""The Myntra catalog as a conversation-test fixture, with deterministic synthetic prices.

Myntra has no prices, so each item gets one derived from its id and articleType alone:
    base(articleType) = 12 + (sha256("type:" + articleType) mod 60)         -> $12 .. $71
    spread(id)        = 0.4 + 1.2 * ((sha256("item:" + id) mod 10_000) / 10_000)  -> 0.4 .. 1.6
    price             = round(base * spread, 2)                               -> about $4.80 .. $114
so every run, machine and test sees the same price, and item types differ in price level as in a shop.
Images are described (content hash, size) without decoding, so image turns can find catalog photos;
no thumbnails or perceptual hashes are computed here.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from PIL import Image

from moodboard.catalog.store import CatalogStore, NewImage, NewPin

ATTRIBUTE_FIELDS = ("gender", "masterCategory", "subCategory", "articleType", "season", "usage", "year")


def _h(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def synthetic_price(item_id: str, article_type: str) -> Decimal:
    """The deterministic price of one Myntra item (see the module docstring)."""
    base = 12 + _h("type:" + article_type) % 60
    spread = 0.4 + 1.2 * ((_h("item:" + item_id) % 10_000) / 10_000)
    return Decimal(str(round(base * spread, 2)))


def myntra_rows(data_dir: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Rows of `myntra/catalog.jsonl` in file order."""
    rows = []
    with (data_dir / "myntra" / "catalog.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def new_pin(row: dict[str, str], root: Path) -> NewPin:
    """One catalog row as a `NewPin` with a synthetic price and an undecoded image description."""
    path = root / row["image"]
    image = None
    if path.is_file():
        data = path.read_bytes()
        with Image.open(path) as im:
            width, height, fmt = im.width, im.height, (im.format or "JPEG")
        image = NewImage(
            content_hash=hashlib.sha256(data).hexdigest(),
            width=width,
            height=height,
            format=fmt,
            byte_size=len(data),
            phash="",
            thumbnail_path=str(path),
        )
    return NewPin(
        external_id=row["id"],
        title=row.get("productDisplayName") or f"{row.get('baseColour', '')} {row.get('articleType', '')}",
        category=row.get("articleType"),
        color=row.get("baseColour"),
        attributes={k: row[k] for k in ATTRIBUTE_FIELDS if row.get(k)},
        source_uri=str(path),
        image=image,
        price=synthetic_price(row["id"], row.get("articleType", "")),
        currency="USD",
    )


def load_myntra(store: CatalogStore, data_dir: Path, limit: int | None = None) -> int:
    """Insert the Myntra catalog into `store`; returns the number of pins."""
    root = data_dir / "myntra"
    rows = myntra_rows(data_dir, limit)
    batch: list[NewPin] = []
    for row in rows:
        batch.append(new_pin(row, root))
        if len(batch) >= 1000:
            store.add_pins(batch)
            batch = []
    if batch:
        store.add_pins(batch)
    return len(rows)
