"""One result contract: every result-returning route puts pin cards of one shape in `results`, and a
filter form's change reaches the assistant as a structured edit (not words)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import build_services, create_app
from moodboard.api.routes.search import SearchOut
from moodboard.api.schemas import PinCard
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.core.query import FilterEdit, Filters
from moodboard.core.settings import load_settings
from moodboard.embed.embedder import make_embedder
from moodboard.jobs.index_job import run_index_job

CARD_KEYS = set(PinCard.model_fields)


@pytest.fixture
def client(tmp_path: Path, tiny_catalog: Path) -> Iterator[TestClient]:
    settings = load_settings(
        home=tmp_path / "home", ingest={"batch_size": 8, "workers": 1}, embed={"backend": "fake", "dim": 32}
    )
    services = build_services(settings)
    Ingestor(services.store, settings.ingest, settings.thumbnails_dir, settings.home / "r.jsonl").run(
        open_source(tiny_catalog)
    )
    run_index_job(settings, services.store, make_embedder(settings.embed, settings.snapshots_dir))
    with TestClient(create_app(settings, services)) as c:
        yield c


def _cards(items: list[dict]) -> list[dict]:
    assert items, "no results"
    for n, item in enumerate(items, 1):
        assert set(item) >= CARD_KEYS, CARD_KEYS - set(item)
        PinCard.model_validate(item)
        assert item["position"] == n and item["thumbnail_url"] == f"/pins/{item['pin_id']}/thumbnail"
        assert item["price"] is not None and item["currency"]
    return items


def test_search_assistant_catalog_and_boards_return_pin_cards(client: TestClient) -> None:
    body = client.post("/search", json={"text": "red", "k": 5, "cutoff": False}).json()
    SearchOut.model_validate(body)  # the route writes its body itself (api/fast_json.py): it must still match
    hits = _cards(body["results"])
    assert {h["source"] for h in hits} == {"search"} and all("sources" in h for h in hits)
    assert _cards(client.get("/catalog/cards", params={"limit": 4}).json()["results"])[0]["source"] == "catalog"
    sid = client.post("/assistant/sessions", json={}).json()["session_id"]
    reply = client.post(f"/assistant/sessions/{sid}/messages", json={"message": "red"}).json()
    assert {c["source"] for c in _cards(reply["results"])} == {"assistant"}
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"PinCard", "SearchHitOut", "RecCard", "ReplyOut", "LookOut", "CardsOut"} <= set(schema)
    # every assistant route that answers with a body documents its schema (review, step 5)
    paths = client.get("/openapi.json").json()["paths"]
    for path, methods in paths.items():
        if not path.startswith("/assistant/"):
            continue
        for method, op in methods.items():
            ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            documented = [r for code, r in ok.items() if code == "204" or "schema" in str(r.get("content", {}))]
            assert documented, f"{method.upper()} {path} has no response schema"


def test_filter_edit_is_structured_and_one_filter_can_be_removed(client: TestClient) -> None:
    sid = client.post("/assistant/sessions", json={}).json()["session_id"]
    client.post(f"/assistant/sessions/{sid}/messages", json={"message": "red"})
    path = f"/assistant/sessions/{sid}/messages"
    reply = client.post(path, json={"message": "", "filters": {"price_max": 1000, "color": ["blue"]}}).json()
    f = reply["state"]["filters"]
    assert f["price_max"] == 1000 and f["colours"] == ["blue"], f
    assert reply["turn"]["filter_edit"]["fields"] == ["price_max", "color"]
    assert all(c["color"].lower() == "blue" for c in _cards(reply["results"]))
    reply = client.post(path, json={"remove_filters": ["color"]}).json()
    assert reply["state"]["filters"]["colours"] == [] and reply["state"]["filters"]["price_max"] == 1000
    bad = client.post(path, json={"filters": {"colour": ["red"]}})
    assert bad.status_code == 422 and "unknown filter field 'colour'" in bad.text


def test_filter_edit_sets_clears_and_keeps_bounds_consistent() -> None:
    start = Filters(price_min=50, colours=("red",), attributes={"material": ("wood",)})
    edit = FilterEdit(set=Filters(price_max=20), fields=("price_max",), clear=("material",))
    assert edit.apply(start) == Filters(price_max=20, colours=("red",))  # min 50 > max 20: the old bound goes
    assert FilterEdit(clear=("price", "color")).apply(start) == Filters(attributes={"material": ("wood",)})
