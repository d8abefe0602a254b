"""Field mapping and validation of one catalog row into a pin, or a precise rejection.

A mapping names, for each moodboard field, the source field that holds it (`title=product_title`),
or a literal for every row after `=` (`currency==INR` on the command line, `currency = "=INR"` in a file).
Structured fields (JSON lists, key/value specification lists) are unpacked first (`catalog.structured`).
Source fields that are not mapped are kept as the pin's attributes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moodboard.catalog.currencies import ISO_4217, SYMBOLS
from moodboard.catalog.structured import expand_row
from moodboard.core.records import Availability

TARGETS = (
    "id",
    "title",
    "description",
    "price",
    "currency",
    "url",
    "merchant",
    "availability",
    "image",
    "category",
    "color",
)
MAX_TITLE = 500
MAX_TEXT = 10_000
MAX_PRICE = Decimal("1e10")
_AVAIL = {
    "in_stock": Availability.IN_STOCK, "instock": Availability.IN_STOCK, "in stock": Availability.IN_STOCK,
    "available": Availability.IN_STOCK, "true": Availability.IN_STOCK, "yes": Availability.IN_STOCK,
    "out_of_stock": Availability.OUT_OF_STOCK, "outofstock": Availability.OUT_OF_STOCK,
    "out of stock": Availability.OUT_OF_STOCK, "sold out": Availability.OUT_OF_STOCK,
    "false": Availability.OUT_OF_STOCK, "no": Availability.OUT_OF_STOCK,
    "preorder": Availability.PREORDER, "pre-order": Availability.PREORDER,
    "unknown": Availability.UNKNOWN, "": Availability.UNKNOWN,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row was rejected: which row, which field, what is wrong and how to fix it."""

    row: int
    field: str
    reason: str
    fix: str
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Where a row's image is: a local path (already confined to the source folder) or a URL."""

    kind: str  # "path" | "url"
    value: str


@dataclass(frozen=True, slots=True)
class ValidRow:
    """A validated row; its image still has to be decoded."""

    row: int
    external_id: str | None
    title: str
    image: ImageRef
    description: str = ""
    category: str | None = None
    color: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    price: Decimal | None = None
    currency: str | None = None
    availability: Availability = Availability.UNKNOWN
    merchant: str | None = None
    url: str | None = None


class Invalid(Exception):
    """Raised inside validation; carries the field, reason and fix."""

    def __init__(self, field_name: str, reason: str, fix: str) -> None:
        """Describe the failing field."""
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.fix = fix


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """Parse `target=source` strings into a mapping, checking every target name."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or not target or not source:
            raise ValueError(f"mapping {pair!r} is not target=source (e.g. title=product_title)")
        if target not in TARGETS:
            raise ValueError(f"unknown mapping target {target!r}; choose from {', '.join(TARGETS)}")
        mapping[target] = source
    return mapping


def clean_text(value: Any, *, limit: int = MAX_TEXT) -> str:
    """Normalise text: NFC, no control/format/surrogate characters, collapsed whitespace, capped length."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    text = unicodedata.normalize("NFC", str(value))
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif cat not in ("Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()[:limit]


def parse_price(value: Any) -> tuple[Decimal | None, str | None]:
    """Parse a price like 19.99, "19.99", "$1,299.00"; returns (amount, currency implied by a symbol)."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        raise Invalid("price", f"price {value!r} is not a number", "write the price as a number, e.g. 19.99")
    implied = None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid("price", f"price {value!r} is not finite", "write a real amount, e.g. 19.99")
        text = repr(value)
    else:
        text = clean_text(value, limit=64)
        for sym, code in SYMBOLS.items():
            if sym in text:
                implied, text = code, text.replace(sym, "")
        text = text.replace(",", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise Invalid("price", f"price {value!r} is not a number", "write the price as a number, e.g. 19.99") from exc
    if not amount.is_finite():
        raise Invalid("price", f"price {value!r} is not finite", "write a real amount, e.g. 19.99")
    if amount < 0:
        raise Invalid("price", f"price {value!r} is negative", "prices must be zero or more")
    if amount >= MAX_PRICE:
        raise Invalid("price", f"price {value!r} is implausibly large", "check the unit (cents vs. units)")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), implied


def parse_currency(value: Any) -> str | None:
    """Validate an ISO 4217 code (case-insensitive)."""
    text = clean_text(value, limit=16).upper()
    if not text:
        return None
    if text in SYMBOLS:
        return SYMBOLS[text]
    if text not in ISO_4217:
        raise Invalid("currency", f"currency {value!r} is not an ISO 4217 code", "use a code such as USD, EUR or INR")
    return text


def parse_link(value: Any) -> str | None:
    """Validate a product link (http or https, at most 2,048 characters)."""
    text = clean_text(value, limit=4096)
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2048:
        raise Invalid("url", f"product link {text[:80]!r} is not an http(s) URL", "use an absolute https:// link")
    return text


def resolve_image(value: Any, base_dir: Path) -> ImageRef:
    """Turn an image field into a URL or a path confined to `base_dir` (no escapes via .. or symlinks)."""
    text = clean_text(value, limit=4096)
    if not text:
        raise Invalid("image", "row has no image", "add an image path or http(s) URL")
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return ImageRef("url", text)
    if scheme and len(scheme) > 1:
        raise Invalid("image", f"image scheme {scheme!r} is not supported", "use a relative path or an http(s) URL")
    root = base_dir.resolve()
    path = (root / text).resolve()
    if not path.is_relative_to(root):
        raise Invalid(
            "image",
            f"image path {text!r} escapes the source folder {root}",
            "keep images inside the catalog's folder and use relative paths",
        )
    return ImageRef("path", str(path))


def validate_row(
    row_no: int, raw: dict[str, Any], mapping: dict[str, str], base_dir: Path, default_currency: str | None
) -> ValidRow:
    """Map and validate one raw row.

    Raises:
        Invalid: the first problem found, with the field at fault and how to fix it.
    """
    if not isinstance(raw, dict):
        raise Invalid("row", "row is not an object", "each line must be a JSON object")
    raw = expand_row(raw)

    def get(target: str) -> Any:
        source = mapping.get(target, target)
        if source.startswith("="):  # a literal value for every row (`currency = "=INR"`)
            return source[1:]
        return raw.get(source)

    consumed = {mapping.get(t, t) for t in TARGETS}
    ext = clean_text(get("id"), limit=300) or None
    if ext is not None and len(ext) > 256:
        raise Invalid("id", "id is longer than 256 characters", "use a shorter stable id")
    title = clean_text(get("title"), limit=MAX_TITLE)
    if not title:
        raise Invalid("title", "title is missing or empty", "map a title field, e.g. --map title=<field>")
    image = resolve_image(get("image"), base_dir)
    price, implied = parse_price(get("price"))
    currency = parse_currency(get("currency")) or implied
    if price is not None and currency is None:
        currency = default_currency
        if currency is None:
            raise Invalid(
                "currency",
                "price has no currency",
                "add a currency field or set MOODBOARD_INGEST__DEFAULT_CURRENCY",
            )
    avail_raw = clean_text(get("availability"), limit=32).lower()
    if avail_raw not in _AVAIL:
        raise Invalid(
            "availability", f"availability {avail_raw!r} is unknown", "use in_stock, out_of_stock or preorder"
        )
    attributes = {}
    for key, val in raw.items():
        if key in consumed or val is None or val == "":
            continue
        name = clean_text(key, limit=64)
        if not name:
            continue
        attributes[name] = clean_text(val, limit=1000) if isinstance(val, str) else val
    return ValidRow(
        row=row_no,
        external_id=ext,
        title=title,
        image=image,
        description=clean_text(get("description")),
        category=clean_text(get("category"), limit=200) or None,
        color=clean_text(get("color"), limit=100) or None,
        attributes=attributes,
        price=price,
        currency=currency,
        availability=_AVAIL[avail_raw],
        merchant=clean_text(get("merchant"), limit=200) or None,
        url=parse_link(get("url")),
    )
