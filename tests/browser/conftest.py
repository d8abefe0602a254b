"""Browser-test fixtures: one real `moodboard serve` on a small catalog, and Debian's headless Chromium.

The app home is built once per session (Myntra subset when the shared data exists, else the generated
catalog). Each test gets a fresh browser context, so storage and the signed-in persona start clean, and
leaves a full-page screenshot under test-artifacts/browser/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.demo_home import build_home, free_port, start_server
from tests.conftest import REPO, find_data_dir

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "browser"


def chromium_path() -> str | None:
    """Debian's Chromium (installed by scripts/services.sh), or MOODBOARD_TEST_CHROMIUM."""
    path = os.environ.get("MOODBOARD_TEST_CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).is_file() else None


def require_chromium() -> str:
    """Chromium's path; skips (or fails, with MOODBOARD_REQUIRE_BROWSER=1, e.g. in CI) when it is missing."""
    path = chromium_path()
    if path is None:
        why = "Chromium not found: run scripts/services.sh or set MOODBOARD_TEST_CHROMIUM"
        if os.environ.get("MOODBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"MOODBOARD_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(reason=why)
    return path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running app: {"url", "catalog", "data_dir"}. MOODBOARD_UI_TEST_CATALOG=generated forces the
    generated catalog even where the Myntra data exists (to check the suite on both)."""
    require_chromium()
    root = tmp_path_factory.mktemp("ui")
    data_dir = None if os.environ.get("MOODBOARD_UI_TEST_CATALOG") == "generated" else find_data_dir()
    used = build_home(root / "home", data_dir)
    port = free_port()
    proc = start_server(root / "home", data_dir, port, root / "server.log")
    try:
        yield {"url": f"http://127.0.0.1:{port}", "catalog": used, "data_dir": data_dir}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::")[-1])[:120]


@pytest.fixture
def page(browser: Any, served: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page at the app's home, ready (personas loaded, feed shown); screenshots on teardown."""
    # bypass_csp: Playwright's string predicates and axe need eval; test_app_runs_under_its_csp checks the CSP
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=served["url"], bypass_csp=True)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto("/")
    pg.wait_for_selector("body[data-ready=true]")
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{_artifact_name(request.node.nodeid)}.png"), full_page=True)
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
