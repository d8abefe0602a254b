"""Shop the look on a synthetic scene: three coloured products on a textured background, fake embedder.

The fake embedder sees a 4x4 colour layout, so a crop around the red object is nearest the red
catalog items, while the whole scene is a blend of everything and nearest none of them in particular.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings, LookSettings
from moodboard.embed.fake import FakeEmbedder
from moodboard.embed.regions import ClassicalProposer, iou
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import SearchIndex
from moodboard.index.vector_index import make_index
from moodboard.rank.search import SearchRequest, SearchService
from moodboard.rank.shop_the_look import ShopTheLook
from tests.scenes import scene

# colour -> category; eight shades each, so a clear category vote exists per colour
PRODUCTS = {
    (200, 30, 30): "dress",
    (30, 60, 220): "bag",
    (240, 210, 30): "lamp",
    (30, 170, 60): "chair",
    (140, 40, 170): "rug",
    (20, 20, 20): "boots",
    (120, 120, 120): "vase",
    (150, 110, 70): "table",
}
OBJECTS = [
    ((200, 30, 30), (40, 60, 200, 260), "rect"),
    ((30, 60, 220), (300, 100, 420, 220), "ellipse"),
    ((240, 210, 30), (460, 280, 600, 440), "rect"),
]


def packshot(rgb: tuple[int, int, int], shade: int) -> Image.Image:
    arr = np.full((64, 64, 3), 255, np.uint8)
    arr[6:58, 6:58] = np.clip(np.array(rgb) + shade, 0, 255)
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def look() -> tuple[ShopTheLook, SearchService, dict[int, Pin]]:
    enc = FakeEmbedder(dim=48)
    pins, images = [], []
    for rgb, cat in PRODUCTS.items():
        for shade in range(-28, 29, 8):
            pid = len(pins) + 1
            pins.append(Pin(pid, f"ext-{pid}", f"{cat} {pid}", category=cat))
            # the catalog image is the product itself (white margin trimmed, as a crop would see it)
            images.append(packshot(rgb, shade).crop((6, 6, 58, 58)))
    settings = IndexSettings()
    vectors = make_index(settings, enc.dim, enc.model_id)
    vectors.add(np.array([p.id for p in pins]), enc.embed_images(images), [ItemAttrs.from_pin(p) for p in pins])
    index = SearchIndex(vectors, None, {})
    by_id = {p.id: p for p in pins}
    service = SearchService(lambda: index, lambda: enc, settings, lambda ids: {i: by_id[i] for i in ids})
    return ShopTheLook(service, ClassicalProposer(), LookSettings(max_regions=6, per_region_k=10)), service, by_id


def _pin_colour(pin: Pin) -> str:
    return pin.category or ""


def test_each_object_region_finds_its_product_and_is_labelled(look) -> None:
    stl, _, by_id = look
    answer = stl.answer(scene(OBJECTS, seed=5), k=12)
    for rgb, truth, _ in OBJECTS:
        region = max(answer.regions, key=lambda r: iou(r.box, truth))
        assert iou(region.box, truth) >= 0.6
        assert region.label == PRODUCTS[rgb]
        assert by_id[region.hits[0].pin_id].category == PRODUCTS[rgb] and not region.filtered


def test_category_filter_when_enabled_keeps_a_region_within_its_voted_category(look) -> None:
    stl, _, by_id = look
    narrowing = ShopTheLook(
        stl.search, stl.proposer, LookSettings(max_regions=6, per_region_k=10, category_filter=True)
    )
    answer = narrowing.answer(scene(OBJECTS, seed=5), k=12)
    for rgb, truth, _ in OBJECTS:
        region = max(answer.regions, key=lambda r: iou(r.box, truth))
        assert region.filtered and all(by_id[h.pin_id].category == PRODUCTS[rgb] for h in region.hits)


def test_merge_is_led_by_the_region_the_catalog_matches_best(look) -> None:
    """Regression: weighted by objectness (contrast), a contrasty background patch led the merged list of
    real photos (clothing-small/validation P@10 0.26, the single crop 0.50); the match weight leads with
    the region whose top results are closest."""
    from moodboard.rank.search import SearchHit
    from moodboard.rank.shop_the_look import LookRegion

    stl, _, _ = look

    def region(score: float, ids: list[int], sim: float) -> LookRegion:
        hits = [SearchHit(i, sim, {"vector": {"rank": n + 1, "score": sim}}) for n, i in enumerate(ids)]
        return LookRegion((0, 0, 10, 10), score, "colour", None, 0.0, False, hits, match=sim)

    patch = region(0.95, [1, 2, 3], 0.35)  # high contrast, weak match: a wall, a bedspread
    garment = region(0.20, [4, 5, 6], 0.85)
    merged = [hit.pin_id for hit, _ in stl._merge([patch, garment], 6)]
    assert merged[:2] == [4, 5] and set(merged) == {1, 2, 3, 4, 5, 6}


def test_merged_list_beats_whole_image_and_has_no_duplicates(look) -> None:
    stl, service, by_id = look
    photo = scene(OBJECTS, seed=6)
    answer = stl.answer(photo, k=9)
    merged = [h.pin_id for h, _ in answer.merged]
    assert len(merged) == len(set(merged)) == 9
    wanted = {PRODUCTS[rgb] for rgb, _, _ in OBJECTS}
    assert {by_id[p].category for p in merged} >= wanted
    whole = service.search(SearchRequest(image=photo, k=9, mode="vector", cutoff=False, facets=())).hits
    assert len({by_id[h.pin_id].category for h in whole} & wanted) < len(wanted)
    # a product that several regions found is listed once, naming every region that found it
    counts: dict[int, int] = {}
    for r in answer.regions:
        for h in r.hits:
            counts[h.pin_id] = counts.get(h.pin_id, 0) + 1
    for hit, regions in answer.merged:
        assert len(regions) == counts[hit.pin_id] and len(hit.sources) == len(regions)


def test_json_carries_boxes_labels_results_and_timings(look) -> None:
    stl, _, _ = look
    body = stl.answer(scene(OBJECTS, seed=7), k=5).to_json()
    assert body["image"] == {"width": 640, "height": 480}
    assert set(body["timings_ms"]) == {"proposals", "embedding", "search", "total"}
    first = body["results"][0]
    assert first["pin_id"] > 0 and first["external_id"].startswith("ext-") and first["regions"]
    region = body["regions"][0]
    assert set(region["bbox"]) == {"left", "top", "right", "bottom"} and region["results"]


def test_photo_without_objects_is_answered_as_one_region(look) -> None:
    stl, _, _ = look
    flat = Image.new("RGB", (500, 400), (140, 140, 140))
    answer = stl.answer(flat, k=5)
    assert len(answer.regions) == 1 and answer.regions[0].source == "whole"
    assert answer.regions[0].box == (0, 0, 500, 400) and len(answer.merged) == 5


def test_k_out_of_range_is_refused(look) -> None:
    stl, _, _ = look
    with pytest.raises(InvalidInputError, match="k=0"):
        stl.answer(Image.new("RGB", (50, 50)), k=0)


def test_filters_constrain_every_region_and_a_named_category_is_not_overridden(look) -> None:
    """An assistant turn passes its conversation's filters: every region searches within them, and the
    region's own category vote does not replace a category the shopper chose."""
    from moodboard.core.query import Filters

    stl, _, by_id = look
    answer = stl.answer(scene(OBJECTS, seed=5), k=6, filters=Filters(categories=("lamp",)))
    assert all(by_id[h.pin_id].category == "lamp" for r in answer.regions for h in r.hits)
    assert not any(r.filtered for r in answer.regions)
