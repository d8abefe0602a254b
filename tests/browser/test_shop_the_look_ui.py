"""Shop the look in headless Chromium against the real served app (issue 13): upload a scene made of
two catalog photos pasted on a textured background, see hotspots on the photo, open one with the
keyboard and see that region's products; the dialog passes axe-core; a corrupt file shows the problem."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.browser.test_web_ui import axe_violations
from tests.scenes import background

pytestmark = pytest.mark.browser


def scene_file(url: str, tmp_path: Path) -> Path:
    """A 900x600 scene with two catalog photos (of different categories) pasted on a smooth texture."""
    pins = httpx.get(f"{url}/pins", params={"limit": 60}).json()
    chosen: list[dict[str, Any]] = []
    for p in pins:
        if p.get("thumbnail_url") and all(p.get("category") != c.get("category") for c in chosen):
            chosen.append(p)
        if len(chosen) == 2:
            break
    canvas = Image.fromarray(background(900, 600, seed=11))
    for pin, (x, y) in zip(chosen, [(60, 90), (520, 220)], strict=True):
        photo = Image.open(io.BytesIO(httpx.get(f"{url}{pin['thumbnail_url']}").content)).convert("RGB")
        photo.thumbnail((300, 300))
        canvas.paste(photo, (x, y))
    path = tmp_path / "scene.jpg"
    canvas.save(path, quality=92)
    return path


def _pressed(page: Any) -> list[str]:
    return page.eval_on_selector_all("#look-dialog [aria-pressed=true]", "els => els.map(e => e.dataset.region)")  # type: ignore[no-any-return]


def test_hotspots_open_their_products_by_keyboard(page: Any, served: dict[str, Any], tmp_path: Path) -> None:
    path = scene_file(served["url"], tmp_path)
    page.set_input_files("#look-input", str(path))
    page.wait_for_selector("#look-dialog[open] .look-spot")
    spots = page.locator(".look-spot")
    assert spots.count() >= 2
    # every hotspot is a named button drawn inside the photo
    stage = page.locator(".look-stage").bounding_box()
    for i in range(spots.count()):
        spot = spots.nth(i)
        assert spot.get_attribute("aria-label").endswith("products")
        box = spot.bounding_box()
        assert box["x"] >= stage["x"] - 1 and box["x"] + box["width"] <= stage["x"] + stage["width"] + 1
    # the first hotspot has focus; Enter opens it, the panel shows that region's products
    assert page.evaluate("document.activeElement.classList.contains('look-spot')")
    first = page.evaluate("document.activeElement.dataset.region")
    page.keyboard.press("Enter")
    assert _pressed(page) == [first]
    heading = page.locator("#look-panel-title").inner_text()
    assert heading.startswith("Object 1")
    products = page.locator("#look-panel .look-product")
    assert products.count() > 0
    # arrow keys move between hotspots; Space opens the next one
    page.keyboard.press("ArrowRight")
    second = page.evaluate("document.activeElement.dataset.region")
    assert second != first
    page.keyboard.press("Space")
    assert _pressed(page) == [second] and page.locator("#look-panel-title").inner_text() != heading
    # each hotspot shows exactly its region's products as the API answers them (same photo, same server)
    answer = httpx.post(
        f"{served['url']}/search/look",
        files={"image": ("scene.jpg", path.read_bytes(), "image/jpeg")},
        data={"query": '{"k": 24}'},
        timeout=60,
    ).json()
    for i in range(spots.count()):
        spots.nth(i).focus()  # (the mouse may land on a smaller box nested inside this one)
        page.keyboard.press("Enter")
        region = answer["regions"][int(spots.nth(i).get_attribute("data-region"))]
        shown = [
            int(x)
            for x in page.eval_on_selector_all("#look-panel .look-product", "els => els.map(e => e.dataset.pinId)")
        ]
        assert shown == [r["pin_id"] for r in region["results"]]
        assert page.locator("#look-panel-title").inner_text().endswith(region["label"] or "")
    page.click(".look-all")
    shown = [
        int(x) for x in page.eval_on_selector_all("#look-panel .look-product", "els => els.map(e => e.dataset.pinId)")
    ]
    assert shown == [r["pin_id"] for r in answer["results"]]
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    assert page.locator("#look-dialog").is_hidden()


def test_corrupt_file_shows_the_problem(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff this is not a jpeg")
    page.set_input_files("#look-input", str(bad))
    page.wait_for_selector("#notices .notice-error")
    text = page.locator("#notices .notice-error").inner_text()
    assert "Shop the look" in text and "image" in text.lower()
    assert page.locator("#look-dialog").is_hidden()
