"""The web UI's routes without a browser: the page and its assets are served from the package, nothing is
loaded from another origin, every module import resolves, and the static route cannot leave its folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.api.routes.ui import STATIC_DIR
from moodboard.core.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_index_and_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.head("/").status_code == 200
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(r.endswith("main.js") for r in refs) and any(r.endswith(".css") for r in refs)
    for ref in refs:
        resp = client.get(ref)
        assert resp.status_code == 200, ref
    assert client.get("/static/js/main.js").headers["content-type"].startswith("text/javascript")


def test_no_other_origin_at_run_time() -> None:
    """No CDN: no file of the UI loads a script, style, font or image from an absolute URL."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix not in {".html", ".js", ".css"}:
            continue
        text = path.read_text()
        assert not re.search(r"(?:src|href)\s*=\s*[\"']https?://", text), path
        assert not re.search(r"@import\s+url\(\s*[\"']?https?://", text), path
        assert not re.search(r"from\s+[\"']https?://", text), path


def test_every_module_import_resolves() -> None:
    js = STATIC_DIR / "js"
    for path in js.glob("*.js"):
        for target in re.findall(r'from\s+"(\./[^"]+)"', path.read_text()):
            assert (js / target).resolve().is_file(), f"{path.name} imports missing {target}"


@pytest.mark.parametrize(
    "path", ["/static/../routes/ui.py", "/static/%2e%2e/routes/ui.py", "/static/js/missing.js", "/static/"]
)
def test_static_route_stays_in_its_folder(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_static_files_live_in_the_package() -> None:
    assert STATIC_DIR.is_dir() and (STATIC_DIR / "index.html").is_file()
    assert Path(STATIC_DIR).parts[-3:] == ("moodboard", "api", "static")
