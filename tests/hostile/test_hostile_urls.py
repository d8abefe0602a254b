"""SSRF through image URLs. The API has no ingest-by-URL route, so the attack surface is `moodboard ingest`
of a catalog whose image URLs an attacker wrote: each case ingests such rows with the real `Ingestor`
against a loopback HTTP server that counts its hits, and checks nothing was fetched or stored.
Redirects and DNS rebinding go through `fetch_url` with a resolver the test controls (no real DNS here).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.catalog.store import CatalogStore
from moodboard.catalog.urlguard import fetch_url
from moodboard.core.errors import FetchError, UnsafeURLError
from moodboard.core.settings import load_settings
from tests.hostile.payloads import png

PUBLIC = "93.184.216.34"


@pytest.fixture(scope="module")
def target() -> Iterator[dict[str, Any]]:
    """A loopback 'internal service' that serves an image to anyone who reaches it, and counts hits."""
    state: dict[str, Any] = {"hits": 0, "png": png((32, 32))}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["hits"] += 1
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(state["png"])))
            self.end_headers()
            self.wfile.write(state["png"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["port"] = server.server_address[1]
    yield state
    server.shutdown()
    server.server_close()


URLS = [
    "http://127.0.0.1:{port}/img.png",
    "http://localhost:{port}/img.png",
    "http://[::1]:{port}/img.png",
    "http://127.1:{port}/img.png",
    "http://2130706433:{port}/img.png",
    "http://0x7f000001:{port}/img.png",
    "http://0.0.0.0:{port}/img.png",
    "http://[::ffff:127.0.0.1]:{port}/img.png",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://127.0.0.1:{port}/redirect",
    "http://user:pass@127.0.0.1:{port}/img.png",
    "file:///etc/passwd",
    "gopher://127.0.0.1:{port}/_GET",
    "ftp://127.0.0.1:{port}/img.png",
]


def test_ingest_refuses_every_internal_image_url(tmp_path: Path, target: dict[str, Any]) -> None:
    rows = [{"id": f"u{i}", "title": f"row {i}", "image": u.format(port=target["port"])} for i, u in enumerate(URLS)]
    catalog = tmp_path / "urls.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = load_settings(home=tmp_path / "home", ingest={"workers": 1})
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    try:
        before = target["hits"]
        summary = Ingestor(store, settings.ingest, settings.thumbnails_dir, tmp_path / "report.jsonl").run(
            open_source(catalog)
        )
        assert target["hits"] == before, "an internal address was fetched"
        assert summary.accepted == 0 and store.count_pins() == 0
    finally:
        store.close()
    report = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines() if line.strip()]
    assert len(report) >= len(URLS)
    assert not any("Traceback" in json.dumps(r) for r in report)
    assert not any("has no image" in json.dumps(r) for r in report)  # refused as unsafe, not as missing


def _transport(seen: list[str], routes: dict[str, httpx.Response]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}{request.url.path}")
        return routes.get(request.url.path, httpx.Response(404))

    return httpx.MockTransport(handle)


def test_dns_rebinding_between_check_and_connect_is_pinned() -> None:
    """The name resolves to a public address when checked and to loopback a moment later: the fetch must
    go to the address that was checked (pinned), never resolve again."""
    answers = iter([[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]])
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    seen: list[str] = []
    routes = {"/a.png": httpx.Response(200, headers={"content-type": "image/png"}, content=png)}
    fetched = fetch_url(
        "http://rebind.test/a.png", max_bytes=10_000, resolver=lambda host, port: next(answers),
        transport=_transport(seen, routes),
    )  # fmt: skip
    assert fetched.data == png
    assert seen == [f"{PUBLIC}/a.png"]  # connected to the checked address


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/admin",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
        "file:///etc/passwd",
        "http://rebind.test/second",
    ],
)
def test_redirects_to_internal_targets_are_refused(location: str) -> None:
    seen: list[str] = []
    calls = {"n": 0}

    def resolver(host: str, port: int) -> list[str]:
        calls["n"] += 1
        return [PUBLIC] if calls["n"] == 1 else ["10.0.0.5"]  # the second lookup rebinds

    routes = {"/a.png": httpx.Response(302, headers={"location": location})}
    with pytest.raises((UnsafeURLError, FetchError)):
        fetch_url("http://rebind.test/a.png", max_bytes=10_000, resolver=resolver, transport=_transport(seen, routes))
    assert seen == [f"{PUBLIC}/a.png"]  # the redirect target was never requested
