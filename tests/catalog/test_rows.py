"""Row validation: examples plus properties (any input either validates cleanly or names its field)."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodboard.catalog.rows import Invalid, clean_text, parse_mapping, parse_price, validate_row

BASE = Path("/srv/catalog")


@pytest.mark.parametrize(
    ("raw", "amount", "implied"),
    [
        (19.99, "19.99", None),
        ("19.999", "20.00", None),
        ("$1,299.00", "1299.00", "USD"),
        ("€5", "5.00", "EUR"),
        (0, "0.00", None),
    ],
)
def test_parse_price_examples(raw: Any, amount: str, implied: str | None) -> None:
    assert parse_price(raw) == (Decimal(amount), implied)


def test_parse_mapping_rejects_unknown_targets_and_malformed_pairs() -> None:
    assert parse_mapping(["title=productDisplayName", "color=baseColour"]) == {
        "title": "productDisplayName",
        "color": "baseColour",
    }
    with pytest.raises(ValueError, match="unknown mapping target"):
        parse_mapping(["colour=baseColour"])
    with pytest.raises(ValueError, match="target=source"):
        parse_mapping(["title"])


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=60)
)
ROWS = st.dictionaries(
    st.sampled_from(["id", "title", "price", "currency", "image", "url", "availability", "color", "extra"]),
    JSON_SCALARS,
)


@settings(max_examples=400, deadline=None)
@given(raw=ROWS)
def test_property_validation_is_total(raw: dict[str, Any]) -> None:
    """Every row either validates into sane values or raises Invalid naming a field and a fix."""
    try:
        row = validate_row(1, raw, {}, BASE, default_currency=None)
    except Invalid as exc:
        assert exc.field in {"id", "title", "price", "currency", "image", "url", "availability", "row"}
        assert exc.reason and exc.fix
        return
    assert row.title and row.title == row.title.strip()
    assert row.price is None or (row.price >= 0 and row.price.is_finite())
    assert row.price is None or row.currency is not None
    if row.image.kind == "path":
        assert Path(row.image.value).is_relative_to(BASE)
    else:
        assert row.image.value.startswith(("http://", "https://"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_property_clean_text_output_is_printable_nfc_and_idempotent(text: str) -> None:
    out = clean_text(text)
    assert out == clean_text(out)
    assert unicodedata.is_normalized("NFC", out)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in out)
    out.encode("utf-8")  # never raises: no lone surrogates survive


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["..", "a", "b", ".", "/", "~"]), max_size=8))
def test_property_image_paths_never_escape_the_source_folder(parts: list[str]) -> None:
    path = "/".join(parts)
    try:
        row = validate_row(1, {"title": "t", "image": path}, {}, BASE, None)
    except Invalid as exc:
        assert exc.field == "image"
        return
    assert Path(row.image.value).resolve().is_relative_to(BASE.resolve())
