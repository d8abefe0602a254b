"""Golden ranking output (STYLE habit 10): `moodboard search`, `moodboard recommend` and `moodboard chat`
over a fixed home, compared with files under `golden/`, so a change of ranking shows up as a diff in review.

The home is built by the real CLI (`ingest` -> `index` -> `graph build`) from the generated catalog of
tests/assistant/conftest.py with the deterministic fake embedder, and a fixed engagement script. Only the
order of external ids is compared (scores may differ in the last float bits between machines).
Regenerate after an intended ranking change with `MOODBOARD_UPDATE_GOLDEN=1 pytest tests/cli/test_golden_rankings.py`
and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from moodboard.catalog.store import CatalogStore
from moodboard.cli.main import build_app
from moodboard.core.records import Event, EventType
from tests.assistant.conftest import make_pins
from tests.homes import build_home, home_env, write_catalog

GOLDEN = Path(__file__).with_name("golden")
CHAT = ["red jeans for men", "under $60", "not white", "only shirts instead", "more like the second one"]
SEARCHES = ["black leather shoes", "blue jeans", "watch"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed home with pins, an index, boards, events and a taste graph."""
    root = tmp_path_factory.mktemp("golden")
    rows = [
        {"id": p.external_id, "title": p.title, "category": p.category, "color": p.color,
         "price": str(p.product.price), "currency": "USD", **p.attributes}
        for p in make_pins()
    ]  # fmt: skip
    settings = build_home(root / "home", write_catalog(root / "catalog", rows))
    store = CatalogStore.open(settings.database_url)
    pins = {p.external_id: p.id for b in store.iter_pins(batch_size=500) for p in b}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for u in range(4):
        user = store.ensure_user(f"user{u}")
        board = store.create_board(user.id, f"board {u}")
        for i in range(12):
            pin = pins[f"x{1 + u * 6 + i}"]  # neighbours share half their pins: the walk has somewhere to go
            store.add_pin_to_board(board.id, pin)
            kind = (EventType.SAVE, EventType.CLICK, EventType.VIEW)[i % 3]
            events.append(Event(user.id, pin, kind, t0 + timedelta(minutes=u * 60 + i)))
    store.add_events(events)
    store.close()
    _run(root / "home", "graph", "build")
    return root / "home"


def _run(home: Path, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(build_app(), list(args), input=stdin, env=home_env(home))
    assert result.exit_code == 0, result.output
    return result.stdout


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(i.get("external_id") or i.get("pin_id")) for i in items]


def _compare(name: str, got: Any) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("MOODBOARD_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=1) + "\n")
    assert path.exists(), f"no golden file {path.name}: run with MOODBOARD_UPDATE_GOLDEN=1, review it and commit it"
    assert got == json.loads(path.read_text()), f"ranking changed: review and regenerate {path.name}"


def test_search_rankings_match_golden(home: Path) -> None:
    got = {q: _ids(json.loads(_run(home, "search", q, "--json"))["results"]) for q in SEARCHES}
    assert all(got.values())
    _compare("search_rankings", got)


def test_recommend_rankings_match_golden(home: Path) -> None:
    feed = json.loads(_run(home, "recommend", "--user", "2", "--json"))
    related = json.loads(_run(home, "recommend", "--pin", "8", "--json"))
    assert feed.get("fallback") is None, feed.get("fallback")  # the walk, not the popularity fallback
    got = {"feed_user_2": _ids(feed["items"]), "related_pin_8": _ids(related["items"])}
    assert got["feed_user_2"] and got["related_pin_8"]
    _compare("recommend_rankings", got)


def test_chat_rankings_match_golden(home: Path) -> None:
    out = _run(home, "chat", "--json", stdin="\n".join([*CHAT, "/quit"]) + "\n")
    pages = [_ids(json.loads(line)["results"]) for line in out.splitlines() if line.startswith("{")]
    assert len(pages) == len(CHAT) and all(pages)
    _compare("chat_rankings", dict(zip(CHAT, pages, strict=True)))
