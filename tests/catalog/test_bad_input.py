"""A catalog holding every class of bad input: good rows land, each bad row is rejected with its reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import load_settings
from tests.imagegen import make_image, make_photo

# (external id, what is wrong, field named in the report, words the reason must contain)
BAD = [
    ("truncated", "truncated JPEG", "image", "corrupt or truncated"),
    ("textfile", "HTML saved as .jpg", "image", "not a recognised image"),
    ("bomb", "decompression bomb", "image", "pixel limit"),
    ("huge", "file over the byte cap", "image", "byte limit"),
    ("ppm", "unsupported format", "image", "not supported"),
    ("notitle", "missing title", "title", "missing"),
    ("noimage", "missing image", "image", "no image"),
    ("badprice", "price is text", "price", "not a number"),
    ("negprice", "negative price", "price", "negative"),
    ("nanprice", "NaN price", "price", "not finite"),
    ("badcur", "unknown currency", "currency", "ISO 4217"),
    ("nocur", "price without currency", "currency", "no currency"),
    ("escape", "path escapes the folder", "image", "escapes the source folder"),
    ("abspath", "absolute path outside", "image", "escapes the source folder"),
    ("zerowidth", "title only zero-width chars", "title", "missing"),
    ("loopback", "URL to loopback", "image", "non-public address"),
    ("metadata", "URL to cloud metadata", "image", "non-public address"),
    ("ftp", "URL with a bad scheme", "image", "not supported"),
    ("badlink", "product link not http", "url", "not an http(s) URL"),
    ("badavail", "unknown availability", "availability", "unknown"),
]


@pytest.fixture
def hostile_catalog(tmp_path: Path) -> Path:
    """A folder whose catalog.jsonl mixes good rows with every bad-input class."""
    root = tmp_path / "cat"
    root.mkdir()
    make_photo(root / "good.png", seed=3)
    make_image(root / "good2.webp", "blue", "square")
    Image.new("RGB", (40, 40), (200, 10, 10)).save(root / "good3.avif")
    import pillow_heif

    pillow_heif.from_pillow(Image.new("RGB", (40, 40), (10, 200, 10))).save(root / "good4.heic")
    make_photo(root / "full.jpg", seed=4)
    data = (root / "full.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "textfile.jpg").write_text("<html><body>Not found</body></html>")
    Image.new("L", (3000, 3000)).save(root / "bomb.png")  # 9 Mpx, tiny file; the test limit is 4 Mpx
    (root / "huge.png").write_bytes(os.urandom(64) + b"\0" * 600_000)  # over the 500 kB test cap
    Image.new("RGB", (20, 20)).save(root / "img.ppm")
    (tmp_path / "outside.png").write_bytes((root / "good.png").read_bytes())
    good = {"title": "Good", "price": "9.99", "currency": "USD"}
    rows = [
        {"id": "g1", "image": "good.png", **good},
        {"id": "g2", "image": "good2.webp", "title": "Good webp"},
        {"id": "g3", "image": "good3.avif", "title": "Good avif"},
        {"id": "g4", "image": "good4.heic", "title": "Good heic"},
        {"id": "unicode", "image": "full.jpg", "title": "Caf\u0065\u0301 \u202eevil\u202c \u200bchair 🪑\ud800"},
        {"id": "truncated", "image": "truncated.jpg", "title": "t"},
        {"id": "textfile", "image": "textfile.jpg", "title": "t"},
        {"id": "bomb", "image": "bomb.png", "title": "t"},
        {"id": "huge", "image": "huge.png", "title": "t"},
        {"id": "ppm", "image": "img.ppm", "title": "t"},
        {"id": "notitle", "image": "good.png"},
        {"id": "noimage", "title": "t"},
        {"id": "badprice", "image": "good.png", "title": "t", "price": "cheap", "currency": "USD"},
        {"id": "negprice", "image": "good.png", "title": "t", "price": -5, "currency": "USD"},
        {"id": "nanprice", "image": "good.png", "title": "t", "price": "NaN", "currency": "USD"},
        {"id": "badcur", "image": "good.png", "title": "t", "price": 5, "currency": "XYZ"},
        {"id": "nocur", "image": "good.png", "title": "t", "price": 5},
        {"id": "escape", "image": "../outside.png", "title": "t"},
        {"id": "abspath", "image": str(tmp_path / "outside.png"), "title": "t"},
        {"id": "zerowidth", "image": "good.png", "title": "\u200b\u200b\u2060"},
        {"id": "loopback", "image": "http://127.0.0.1:8080/a.jpg", "title": "t"},
        {"id": "metadata", "image": "http://169.254.169.254/latest/meta-data/", "title": "t"},
        {"id": "ftp", "image": "ftp://example.com/a.jpg", "title": "t"},
        {"id": "badlink", "image": "good.png", "title": "t", "url": "javascript:alert(1)"},
        {"id": "badavail", "image": "good.png", "title": "t", "availability": "maybe"},
        {"id": "g1", "image": "good.png", "title": "duplicate of the first row"},
    ]
    lines = [json.dumps(r) for r in rows] + ["{not json", "[1, 2]"]
    (root / "catalog.jsonl").write_text("\n".join(lines) + "\n")
    return root / "catalog.jsonl"


def test_every_bad_row_is_rejected_with_its_reason_and_good_rows_land(tmp_path: Path, hostile_catalog: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home",
        ingest={"batch_size": 4, "workers": 2, "max_pixels": 4_000_000, "max_file_bytes": 500_000},
    )
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    report = tmp_path / "report.jsonl"
    summary = Ingestor(store, settings.ingest, settings.thumbnails_dir, report).run(open_source(hostile_catalog))
    rejected = [json.loads(line) for line in report.read_text().splitlines()]
    by_id = {r["external_id"]: r for r in rejected if r["external_id"]}
    for ext, what, field, words in BAD:
        assert ext in by_id, f"{what} ({ext}) was not rejected"
        assert by_id[ext]["field"] == field, (ext, by_id[ext])
        assert words.lower() in by_id[ext]["reason"].lower(), (ext, by_id[ext]["reason"])
        assert by_id[ext]["fix"], f"{ext} has no fix"
    dup = [r for r in rejected if r["external_id"] == "g1"]
    assert len(dup) == 1 and "duplicate id" in dup[0]["reason"]
    unparsable = [r for r in rejected if r["field"] == "row"]
    assert len(unparsable) == 2 and all(r["row"] > 0 for r in unparsable)
    assert summary.accepted == 5 and summary.rejected == len(BAD) + 3
    assert store.count_pins() == 5
    title = store.get_pin_by_external_id("unicode").title
    assert title == "Café evil chair 🪑"  # NFC, bidi override, zero-width and lone surrogate removed
    assert store.get_pin_by_external_id("g4").image.format == "HEIF"  # type: ignore[union-attr]
    store.close()


def test_bad_catalog_never_loses_stored_pins(tmp_path: Path, tiny_catalog: Path, hostile_catalog: Path) -> None:
    settings = load_settings(home=tmp_path / "home", ingest={"batch_size": 4, "workers": 1, "max_pixels": 4_000_000})
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    ing = Ingestor(store, settings.ingest, settings.thumbnails_dir, tmp_path / "r.jsonl")
    ing.run(open_source(tiny_catalog))
    before = {p.external_id: p for b in store.iter_pins() for p in b}
    ing.run(open_source(hostile_catalog))
    after = {p.external_id: p for b in store.iter_pins() for p in b}
    assert all(after[k] == v for k, v in before.items())
    store.close()
