"""A new operator's first look: `moodboard serve` on a home with nothing ingested says how to fill it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.demo_home import free_port, start_server


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("empty-ui")
    port = free_port()
    proc = start_server(root / "home", None, port, root / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_empty_catalog_tells_the_operator_what_to_run(browser: Any, empty_server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=empty_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#pins-heading:has-text('The catalog is empty')")
    hint = page.inner_text("#results .empty")
    assert "make demo" in hint and "moodboard ingest" in hint and "moodboard index" in hint, hint
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "empty_catalog.png"))
    assert not errors, errors
    context.close()
