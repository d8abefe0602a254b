"""Demo catalogs: an operator's catalog with synthetic prices when it has none, or a small generated one.

A catalog without prices (the Myntra sample has none) gets a deterministic synthetic price per item: a
range chosen by the hash of its category, and a position inside it from the SHA-256 of the item id. The
same id always gets the same price, on every machine. Nothing here knows any one catalog's fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

PRICE_RANGES: tuple[tuple[int, int], ...] = ((4, 30), (8, 80), (10, 60), (15, 90), (20, 160), (25, 220), (60, 400))
"""Generic (low, high) demo price ranges; each category gets one, chosen by the hash of its name."""


def _unit(key: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def synthetic_price(item_id: str, category: str) -> Decimal:
    """A deterministic demo price for an item, ending in .99: a per-category range, a per-item position."""
    low, high = PRICE_RANGES[int(_unit(category.lower(), "range") * len(PRICE_RANGES))]
    whole = low + int(_unit(item_id, "price") * (high - low))
    return Decimal(whole) + Decimal("0.99")


def synthetic_availability(item_id: str) -> str:
    """About 9 in 10 items are in stock, decided by the id's hash."""
    return "in_stock" if _unit(item_id, "stock") < 0.9 else "out_of_stock"


def with_synthetic_prices(
    catalog: Path, out: Path, mapping: dict[str, str], limit: int | None = None, currency: str = "USD"
) -> Path:
    """Copy a JSONL catalog that has no prices, adding deterministic price, currency, availability and link.

    The price range follows the row's category (the field `mapping["category"]` names). With `limit`, an
    evenly spaced sample of that many rows is kept. Image paths stay relative to the source folder.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [ln for ln in catalog.read_text().splitlines() if ln.strip()]
    if limit is not None and 0 < limit < len(lines):
        step = len(lines) / limit
        lines = [lines[int(i * step)] for i in range(limit)]
    cat_field = mapping.get("category", "category")
    id_field = mapping.get("id", "id")
    with out.open("w") as dst:
        for n, line in enumerate(lines):
            row: dict[str, Any] = json.loads(line)
            rid = str(row.get(id_field, n))
            row.update(
                price=str(synthetic_price(rid, str(row.get(cat_field, "")))),
                currency=currency,
                availability=synthetic_availability(rid),
                url=f"https://shop.example/products/{rid}",
            )
            dst.write(json.dumps(row) + "\n")
    return out


GENERATED_KINDS = {
    "lamp": ("Lamps", "ellipse"),
    "rug": ("Rugs", "rectangle"),
    "vase": ("Decor", "triangle"),
    "chair": ("Chairs", "chair"),
    "mug": ("Kitchen", "mug"),
}
GENERATED_COLOURS = {
    "White": (240, 240, 236),
    "Black": (25, 25, 28),
    "Red": (200, 40, 45),
    "Blue": (40, 80, 190),
    "Green": (50, 150, 80),
    "Brass": (181, 150, 70),
}


def generated_catalog(out_dir: Path, per_pair: int = 3, on_item: Callable[[], None] | None = None) -> Path:
    """Draw a small home-goods catalog (kinds x colours x variants) with prices; returns its JSONL path."""
    from PIL import Image, ImageDraw

    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for kind, (category, shape) in GENERATED_KINDS.items():
        for colour, rgb in GENERATED_COLOURS.items():
            for v in range(per_pair):
                rid = f"gen-{kind}-{colour.lower()}-{v}"
                img = Image.new("RGB", (256, 256), (236 - 12 * v, 232, 226))
                d = ImageDraw.Draw(img)
                box = (48 + 8 * v, 48, 208 - 8 * v, 208)
                if shape == "ellipse":
                    d.ellipse(box, fill=rgb)
                elif shape == "rectangle":
                    d.rectangle(box, fill=rgb)
                elif shape == "triangle":
                    d.polygon([(128, 40), (210, 210), (46, 210)], fill=rgb)
                elif shape == "chair":
                    d.rectangle((80, 40, 110, 210), fill=rgb)
                    d.rectangle((80, 130, 180, 150), fill=rgb)
                    d.rectangle((160, 150, 180, 210), fill=rgb)
                else:
                    d.rectangle((70, 70, 170, 200), fill=rgb)
                    d.arc((150, 100, 210, 160), 270, 90, fill=rgb, width=12)
                name = f"{rid}.jpg"
                img.save(out_dir / name, quality=90)
                lines.append(
                    {
                        "id": rid,
                        "title": f"{colour} {kind} ({'classic' if v == 0 else 'modern' if v == 1 else 'minimal'})",
                        "category": category,
                        "color": colour,
                        "price": str(synthetic_price(rid, category)),
                        "currency": "USD",
                        "availability": synthetic_availability(rid),
                        "image": name,
                    }
                )
                if on_item:
                    on_item()
    path = out_dir / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path
