"""The web UI on the Flipkart catalog (original CSV through its mapping), in Debian's Chromium against a
real `moodboard serve`: the composer's examples come from this catalog, a goal becomes a cascade of the
catalog's own categories, a section is refined, and a catalog photo is searched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import require_chromium
from tests.browser.demo_home import free_port, start_server
from tests.browser.test_web_ui import cards, send
from tests.conftest import find_data_dir
from tests.homes import build_home

pytestmark = [pytest.mark.browser, pytest.mark.realdata]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flipkart_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    data = find_data_dir()
    if data is None or not (data / "flipkart" / "products.csv").is_file():
        pytest.skip(reason="Flipkart catalog not found: set MOODBOARD_DATA_DIR to the shared data folder")
    root = tmp_path_factory.mktemp("ui-flipkart")
    build_home(
        root / "home",
        data / "flipkart" / "products.csv",
        mapping_file=REPO / "examples" / "catalogs" / "flipkart.toml",
        images_root=data / "flipkart" / "images",
        env={"MOODBOARD_EMBED__DIM": "64"},  # what the served app's settings say (tests/browser/demo_home.py)
    )
    port = free_port()
    proc = start_server(root / "home", None, port, root / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def fk_page(browser: Any, flipkart_url: str) -> Iterator[Any]:
    """A page of the Flipkart app, on the suite's one Chromium."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=flipkart_url, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()


def test_examples_goal_refinement_and_photo_on_flipkart(fk_page: Any, flipkart_url: str, tmp_path: Path) -> None:
    page = fk_page
    examples = httpx.get(f"{flipkart_url}/catalog/profile").json()["examples"]
    assert examples and page.locator("#chat-input").get_attribute("placeholder").startswith(f"Try: {examples[0]}")
    chips = [c.inner_text() for c in page.locator("#chips .chip").all()]
    assert chips and set(chips) <= set(examples)  # the first chips are this catalog's own examples

    send(page, "help me plan a baby shower gift")
    page.wait_for_selector("#results .cascade-section")
    names = [h.inner_text().split(" · ")[0] for h in page.locator("#results .cascade-section h2").all()]
    assert len(names) >= 2 and cards(page)

    first = names[0]
    send(page, f"the {first}, but under 400")
    section = page.locator("#results .cascade-section").first
    texts = [t for t in section.locator(".pin-price").all_inner_texts() if re.search(r"\d", t)]
    prices = [float(re.sub(r"[^0-9.]", "", t)) for t in texts]
    assert prices and all(v <= 400 for v in prices), texts

    send(page, "start over")  # a photo on a cascade refines its sections; a fresh search by photo:
    done = page.locator(".msg-bot[aria-busy=false]").count()
    pins = httpx.get(f"{flipkart_url}/pins", params={"limit": 50}).json()
    mug = next(p for p in pins if "Mug" in p["title"]) if any("Mug" in p["title"] for p in pins) else pins[0]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(httpx.get(f"{flipkart_url}{mug['thumbnail_url']}").content)
    page.set_input_files("#upload-input", str(photo))
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {done}")
    assert mug["id"] in [c["id"] for c in cards(page)[:3]]  # the catalog photo finds its own product
