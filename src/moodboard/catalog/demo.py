"""Demo catalogs: Myntra with synthetic prices, or a small generated catalog when no data is available.

Myntra has no prices. The demo (and tests that need prices) assign each item a deterministic synthetic
price: a per-article-type range, and a position inside it taken from the SHA-256 of the item id. The same
id always gets the same price, on every machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

# (low, high) USD price ranges by words found in the article type; first match wins.
PRICE_RANGES: list[tuple[tuple[str, ...], tuple[int, int]]] = [
    (("watch",), (60, 400)),
    (("jewel", "ring", "necklace", "earring", "bracelet", "pendant", "bangle"), (15, 250)),
    (("bag", "backpack", "clutch", "wallet", "trolley", "duffel"), (25, 220)),
    (("shoe", "heel", "boot", "sandal", "flat", "sneaker", "loafer"), (25, 180)),
    (("jacket", "blazer", "coat", "suit", "sweater", "sweatshirt"), (35, 220)),
    (("dress", "kurta", "saree", "lehenga", "jumpsuit"), (20, 160)),
    (("jean", "trouser", "track", "skirt", "short", "legging", "capri"), (15, 90)),
    (("sunglass", "belt", "cap", "hat", "tie", "scarf", "stole"), (8, 80)),
    (("sock", "brief", "trunk", "bra", "innerwear", "vest", "boxer"), (4, 30)),
    (("perfume", "deodorant", "lipstick", "nail", "cream", "lotion"), (5, 70)),
]
DEFAULT_RANGE = (10, 60)


def _unit(key: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def synthetic_price(item_id: str, article_type: str) -> Decimal:
    """A deterministic demo price in USD for an item, ending in .99 (see the module docstring)."""
    kind = article_type.lower()
    low, high = next((rng for words, rng in PRICE_RANGES if any(w in kind for w in words)), DEFAULT_RANGE)
    whole = low + int(_unit(item_id, "price") * (high - low))
    return Decimal(whole) + Decimal("0.99")


def synthetic_availability(item_id: str) -> str:
    """About 9 in 10 items are in stock, decided by the id's hash."""
    return "in_stock" if _unit(item_id, "stock") < 0.9 else "out_of_stock"


def myntra_with_prices(myntra_dir: Path, out: Path, limit: int | None = None) -> Path:
    """Write Myntra's catalog with synthetic price, currency, merchant, availability and link fields.

    With `limit`, an evenly spaced sample of that many rows is kept (every article type stays represented).
    Image paths are kept relative to `myntra_dir`; ingest it with `--images-root myntra_dir`.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = (myntra_dir / "catalog.jsonl").read_text().splitlines()
    if limit is not None and 0 < limit < len(lines):
        step = len(lines) / limit
        lines = [lines[int(i * step)] for i in range(limit)]
    with out.open("w") as dst:
        for line in lines:
            row: dict[str, Any] = json.loads(line)
            rid = str(row["id"])
            row.update(
                price=str(synthetic_price(rid, str(row.get("articleType", "")))),
                currency="USD",
                merchant=str(row.get("productDisplayName", "")).split(" ", 1)[0] or "Myntra",
                availability=synthetic_availability(rid),
                url=f"https://shop.example/products/{rid}",
            )
            dst.write(json.dumps(row) + "\n")
    return out


GENERATED_KINDS = {
    "lamp": ("Lighting", "ellipse"),
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
