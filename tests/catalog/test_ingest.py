"""Ingest of good catalogs: counts, thumbnails, idempotency, mappings, folders and near-duplicates."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.core.settings import Settings
from tests.imagegen import make_image, make_photo


def run(store: CatalogStore, settings: Settings, src: Path, mapping: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    ing = Ingestor(store, settings.ingest, settings.thumbnails_dir, settings.home / "report.jsonl", mapping)
    return ing.run(open_source(src))


def test_tiny_catalog_ingests_every_row_with_thumbnail(
    store: CatalogStore, settings: Settings, tiny_catalog: Path
) -> None:
    summary = run(store, settings, tiny_catalog)
    assert (summary.accepted, summary.rejected, summary.skipped) == (18, 0, 0)
    pins = [p for b in store.iter_pins() for p in b]
    assert len(pins) == 18
    for p in pins:
        assert p.image is not None
        thumb = settings.thumbnails_dir / p.image.thumbnail_path
        assert thumb.is_file() and max(Image.open(thumb).size) <= settings.ingest.thumbnail_px
        assert len(p.image.phash) == 16
    first = store.get_pin_by_external_id("p000")
    assert first.product.price is not None and first.product.currency == "USD"
    assert first.attributes == {"style": "classic"}


def test_rerun_adds_nothing(store: CatalogStore, settings: Settings, tiny_catalog: Path) -> None:
    run(store, settings, tiny_catalog)
    again = run(store, settings, tiny_catalog)
    assert (again.accepted, again.skipped, again.rejected) == (0, 18, 0)
    assert store.count_pins() == 18


def test_field_mapping_keeps_unmapped_fields_as_attributes(
    store: CatalogStore, settings: Settings, tmp_path: Path
) -> None:
    make_image(tmp_path / "a.png", "red", "circle")
    row = {"sku": "X1", "productDisplayName": "Red Circle", "articleType": "Prints", "baseColour": "Red",
           "image": "a.png", "gender": "Women"}  # fmt: skip
    (tmp_path / "c.jsonl").write_text(json.dumps(row) + "\n")
    mapping = {"id": "sku", "title": "productDisplayName", "category": "articleType", "color": "baseColour"}
    summary = run(store, settings, tmp_path / "c.jsonl", mapping)
    assert summary.accepted == 1
    pin = store.get_pin_by_external_id("X1")
    assert (pin.title, pin.category, pin.color, pin.attributes) == ("Red Circle", "Prints", "Red", {"gender": "Women"})


def test_folder_with_sidecars_and_content_hash_identity(
    store: CatalogStore, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    make_image(folder / "red_lamp.png", "red", "circle")
    make_image(folder / "blue_chair.jpg", "blue", "square")
    (folder / "blue_chair.json").write_text(json.dumps({"title": "Blue chair", "price": "$49.50"}))
    summary = run(store, settings, folder)
    assert summary.accepted == 2
    chair = next(p for b in store.iter_pins() for p in b if p.title == "Blue chair")
    assert str(chair.product.price) == "49.50" and chair.product.currency == "USD"
    lamp = next(p for b in store.iter_pins() for p in b if p.title == "red lamp")
    assert lamp.external_id.startswith("sha256:")
    assert run(store, settings, folder).accepted == 0


def test_csv_source(store: CatalogStore, settings: Settings, tmp_path: Path) -> None:
    make_image(tmp_path / "a.png", "green", "triangle")
    (tmp_path / "c.csv").write_text("id,title,price,currency,image\nc1,Green tri,12.5,EUR,a.png\n")
    assert run(store, settings, tmp_path / "c.csv").accepted == 1
    assert store.get_pin_by_external_id("c1").product.currency == "EUR"


def test_near_duplicates_are_marked_but_kept(store: CatalogStore, settings: Settings, tmp_path: Path) -> None:
    make_photo(tmp_path / "a.png", seed=1)
    Image.open(tmp_path / "a.png").resize((180, 180)).save(tmp_path / "a_small.jpg", quality=90)
    make_photo(tmp_path / "b.png", seed=1, tint=(0, 0, 90))  # same structure, other colour: not a duplicate
    rows = [{"id": n, "title": n, "image": n} for n in ("a.png", "a_small.jpg", "b.png")]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    summary = run(store, settings, tmp_path / "c.jsonl")
    assert (summary.accepted, summary.near_duplicates) == (3, 1)
    small = store.get_pin_by_external_id("a_small.jpg")
    original = store.get_pin_by_external_id("a.png")
    blue = store.get_pin_by_external_id("b.png")
    assert small.image and original.image and blue.image
    assert small.image.duplicate_of is not None and original.image.duplicate_of is None
    assert blue.image.duplicate_of is None
