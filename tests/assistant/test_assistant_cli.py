"""`moodboard chat` end to end: a scripted terminal session over a generated catalog."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.cli.main import build_app
from tests.assistant.conftest import make_pins


def _catalog(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    store = CatalogStore.open(f"sqlite:///{(home / 'catalog.db').resolve()}")
    store.add_pins(
        [
            NewPin(
                external_id=p.external_id,
                title=p.title,
                category=p.category,
                color=p.color,
                attributes=p.attributes,
                price=Decimal(str(p.product.price)),
            )
            for p in make_pins()
        ]
    )
    store.close()


def test_chat_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _catalog(home)
    photo = tmp_path / "photo.png"
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 20, 20)).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    script = "\n".join(
        [
            "red jeans for men",
            "/save 2",
            "/save 99",
            "under $60",
            "an outfit for the office",
            "qwxz",
            f"/image {photo} like this",
            "/image /does/not/exist",
            "/state",
            "/quit",
        ]
    )
    result = CliRunner().invoke(build_app(), ["--home", str(home), "chat"], input=script + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "results for" in out and "Jeans" in out
    assert "noted: save #2" in out and "no result #99" in out
    assert "plan for your office outfit" in out and "footwear" in out
    assert "did not understand: qwxz" in out
    assert "No such file" in out or "not exist" in out
    assert "resume with: moodboard chat --session" in out
