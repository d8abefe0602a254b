"""`moodboard chat` end to end over a home built by `moodboard ingest` + `moodboard index`, and the golden
replay: the same scripted conversation through `moodboard chat` and through the HTTP API shows the same
first page of pins (one composition root, one engine)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from moodboard.api.app import create_app
from moodboard.cli.main import build_app
from tests.assistant.conftest import make_pins
from tests.homes import build_home, home_env, write_catalog

SCRIPT = ["red jeans for men", "under $60", "not white", "only shirts instead", "more like the second one"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat")
    rows = [
        {"id": p.external_id, "title": p.title, "category": p.category, "color": p.color,
         "price": str(p.product.price), "currency": "USD", **p.attributes}
        for p in make_pins()
    ]  # fmt: skip
    build_home(root / "home", write_catalog(root / "catalog", rows))
    return root / "home"


def _chat(home: Path, lines: list[str], *extra: str) -> str:
    result = CliRunner().invoke(
        build_app(), ["chat", *extra], input="\n".join([*lines, "/quit"]) + "\n", env=home_env(home)
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_chat_session(home: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 20, 20)).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    out = _chat(
        home,
        [
            "red jeans for men",
            "/save 2",
            "/save 99",
            "under $60",
            "help me plan an outfit with leather shoes, sunglasses and a watch",
            "qwxz",
            f"/image {photo} like this",
            "/image /does/not/exist",
            "/state",
        ],
    )
    out = " ".join(out.split())  # the terminal wraps long replies
    assert "results for" in out and "Jeans" in out
    assert "noted: save #2" in out and "no result #99" in out
    assert "Here is a plan for" in out and "Watches" in out
    assert "did not understand: qwxz" in out
    assert "No such file" in out or "not exist" in out
    assert "resume with: moodboard chat --session" in out


def test_golden_replay_chat_and_http_api_show_the_same_first_page(home: Path) -> None:
    cli_pages = [
        [r["pin_id"] for r in json.loads(line)["results"]]
        for line in _chat(home, SCRIPT, "--json").splitlines()
        if line.startswith("{")
    ]
    settings = build_home.__globals__["load_settings"](home=home, embed={"backend": "fake", "dim": 32})
    with TestClient(create_app(settings)) as client:
        sid = client.post("/assistant/sessions", json={}).json()["session_id"]
        api_pages = [
            [
                r["pin_id"]
                for r in client.post(f"/assistant/sessions/{sid}/messages", json={"message": m}).json()["results"]
            ]
            for m in SCRIPT
        ]
    assert len(cli_pages) == len(SCRIPT) and all(cli_pages)
    assert cli_pages == api_pages
