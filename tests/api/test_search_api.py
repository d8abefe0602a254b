"""`POST /search` end to end: ingest a tiny generated catalog, run the index job with the fake embedder,
upload an image and get visually similar pins back; bad input gets a 4xx problem and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import build_services, create_app
from moodboard.catalog.ingest import Ingestor
from moodboard.catalog.sources import open_source
from moodboard.core.settings import Settings, load_settings
from moodboard.embed.embedder import make_embedder
from moodboard.embed.fake import FakeEmbedder
from moodboard.jobs.index_job import run_index_job
from tests.conftest import make_image


def _png(colour: str, shape: str, tmp_path: Path, size: int = 120) -> bytes:
    path = tmp_path / f"q_{colour}_{shape}.png"
    make_image(path, colour, shape, size=size)
    return path.read_bytes()


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    return load_settings(
        home=tmp_path / "home", ingest={"batch_size": 8, "workers": 1}, embed={"backend": "fake", "dim": 32}
    )


@pytest.fixture
def client(fake_settings: Settings, tiny_catalog: Path) -> Iterator[TestClient]:
    services = build_services(fake_settings)
    ing = Ingestor(
        services.store, fake_settings.ingest, fake_settings.thumbnails_dir, fake_settings.home / "report.jsonl"
    )
    assert ing.run(open_source(tiny_catalog)).accepted == 18
    embedder = make_embedder(fake_settings.embed, fake_settings.snapshots_dir)
    result = run_index_job(fake_settings, services.store, embedder)
    assert result.count == 18 and "image" in result.calibration
    # shapes on grey are not packshots: uploads are embedded uncropped ("auto"), so a catalog image finds itself
    manifest = json.loads((result.snapshot / "manifest.json").read_text())
    assert manifest["photo_domain"] == {"packshot_fraction": 0.0, "sampled": 18}
    with TestClient(create_app(fake_settings, services)) as c:
        yield c


def _titles(body: dict) -> list[str]:
    return [r["title"] for r in body["results"]]


def test_upload_image_returns_visually_similar_pins(client: TestClient, tmp_path: Path) -> None:
    resp = client.post(
        "/search",
        files={"image": ("q.png", _png("red", "circle", tmp_path), "image/png")},
        data={"query": json.dumps({"k": 3})},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert _titles(body)[0] == "Red circle print"
    assert all(t.startswith("Red") for t in _titles(body))  # the three red pins
    assert body["results"][0]["sources"]["vector"]["rank"] == 1
    squares = client.post(
        "/search",
        files={"image": ("q.png", _png("red", "circle", tmp_path), "image/png")},
        data={"query": json.dumps({"k": 3, "filters": {"category": "square"}})},
    ).json()
    assert squares["results"][0]["title"] == "Red square print"
    # facets count the retrieved, filtered set (6 squares), not the catalog (18 pins, 3 shapes)
    assert squares["facets"]["category"] == {"square": 6}
    assert sum(squares["facets"]["color"].values()) == 6


def test_json_text_search_with_filters(client: TestClient) -> None:
    resp = client.post("/search", json={"text": "green square", "k": 5, "filters": {"price_max": 1000}})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert _titles(body)[0] == "Green square print"
    assert "lexical" in body["results"][0]["sources"]
    only_blue = client.post("/search", json={"text": "print", "k": 18, "filters": {"color": "blue"}}).json()
    assert only_blue["results"] and all(t.startswith("Blue") for t in _titles(only_blue))


def test_pin_query_and_negative_terms(client: TestClient) -> None:
    first = client.post("/search", json={"text": "circle print", "mode": "lexical", "k": 18}).json()
    pin_id = first["results"][0]["pin_id"]
    same = client.post("/search", json={"pin_id": pin_id, "k": 1}).json()
    assert same["results"][0]["pin_id"] == pin_id
    no_red = client.post(
        "/search", json={"text": "circle", "negative_text": ["red"], "mode": "lexical", "k": 18}
    ).json()
    assert no_red["results"] and not any(t.startswith("Red") for t in _titles(no_red))


def _state(client: TestClient) -> list:
    return client.post("/search", json={"text": "blue triangle print", "k": 18, "cutoff": False}).json()["results"]


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"json": {"text": "   "}}, 422, "text"),
        ({"json": {}}, 422, "text"),
        ({"json": {"text": "red", "k": 10**7}}, 422, "k"),
        ({"json": {"text": "red", "filters": {"colour": "red"}}}, 422, "filters.colour"),
        ({"json": {"vector": [0.1, 0.2, 0.3]}}, 422, "vector"),
        ({"json": {"text": "red", "bogus": 1}}, 422, "bogus"),
        ({"json": {"pin_id": 987654}}, 404, None),
        ({"files": {"image": ("x.png", b"this is not an image", "image/png")}}, 422, None),
        ({"files": {"image": ("x.png", b"", "image/png")}}, 422, None),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, None),
    ],
)
def test_bad_input_is_a_4xx_problem_and_index_untouched(
    client: TestClient, kwargs: dict, status: int, field: str | None
) -> None:
    before = _state(client)
    resp = client.post("/search", **kwargs)
    assert resp.status_code == status, resp.text
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"] and problem.get("hint")
    if field:
        assert field in problem.get("field", "") or field in problem["detail"]
    assert _state(client) == before


def test_model_mismatch_is_409(client: TestClient) -> None:
    before = _state(client)
    client.app.state.services.runtime.embedder.set(FakeEmbedder(dim=16))  # another model than the index's
    resp = client.post("/search", json={"text": "red circle"})
    assert resp.status_code == 409, resp.text
    assert resp.json()["type"].endswith("/model_mismatch")
    client.app.state.services.runtime.embedder.set(FakeEmbedder(dim=32))
    assert _state(client) == before


def test_nonsense_query_gets_honest_empty_result(client: TestClient) -> None:
    body = client.post("/search", json={"text": "zorbulent quivaxe plimtrock", "k": 10}).json()
    assert body["results"] == [] and body["below_cutoff"] > 0


def test_no_index_yet_is_404(tmp_path: Path) -> None:
    other = load_settings(home=tmp_path / "empty", embed={"backend": "fake", "dim": 32})
    with TestClient(create_app(other)) as c:
        resp = c.post("/search", json={"text": "red"})
    assert resp.status_code == 404 and "moodboard index" in resp.json()["hint"]


def test_openapi_documents_json_and_multipart(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/search"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "negative_text" in body["application/json"]["schema"]["properties"]


@pytest.mark.realdata
@pytest.mark.slow
def test_realdata_lite_upload_returns_same_article_type(data_dir: Path, tmp_path: Path) -> None:
    """Myntra subset, lite embedder trained on it: held-out product photos find pins of their own type."""
    from typer.testing import CliRunner

    from moodboard.cli import main as cli_main

    myntra = data_dir / "myntra"
    if not (myntra / "catalog.jsonl").is_file():
        pytest.skip(reason=f"{myntra}/catalog.jsonl is missing")
    types = ["Tshirts", "Jeans", "Casual Shoes", "Watches", "Handbags"]
    rows = [json.loads(line) for line in (myntra / "catalog.jsonl").read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(0)
    indexed, held_out = [], []
    for t in types:
        of_type = [r for r in rows if r["articleType"] == t]
        pick = rng.choice(len(of_type), size=45, replace=False)
        chosen = [of_type[i] for i in pick]
        indexed += chosen[:40]
        held_out += chosen[40:]
    import shutil

    catalog = tmp_path / "subset" / "myntra.jsonl"
    (catalog.parent / "images").mkdir(parents=True)
    for r in indexed:  # ingest refuses images outside the catalog's folder: copy the subset to tmp
        shutil.copy(myntra / r["image"], catalog.parent / r["image"])
    catalog.write_text("\n".join(json.dumps(r) for r in indexed) + "\n")
    env = {
        "MOODBOARD_HOME": str(tmp_path / "home"),
        "MOODBOARD_EMBED__BACKEND": "lite",
        "MOODBOARD_EMBED__DIM": "64",
        "MOODBOARD_INGEST__WORKERS": "1",
    }
    cli_main.build_app()
    runner = CliRunner()
    maps = ["--map", "title=productDisplayName", "--map", "category=articleType", "--map", "color=baseColour"]
    for args in (["ingest", str(catalog), *maps], ["train", "align", "--epochs", "40"], ["index"]):
        res = runner.invoke(cli_main.app, args, env=env)
        assert res.exit_code == 0, (args, res.output, res.exception)

    settings = load_settings(home=tmp_path / "home", embed={"backend": "lite", "dim": 64})
    with TestClient(create_app(settings)) as c:
        hits = empty = 0
        for r in held_out:
            resp = c.post(
                "/search",
                files={"image": ("q.jpg", (myntra / r["image"]).read_bytes(), "image/jpeg")},
                data={"query": json.dumps({"k": 5})},
            )
            assert resp.status_code == 200, resp.text
            results = resp.json()["results"]
            empty += not results
            cats = [p.category for p in c.app.state.services.store.get_pins([x["pin_id"] for x in results])]
            hits += sum(cat == r["articleType"] for cat in cats)
            if results:
                assert resp.json()["facets"]["category"]  # facets over the retrieved set
        precision = hits / (5 * len(held_out))  # an empty answer counts as 5 misses
        assert precision >= 0.8, f"P@5 of the held-out photos' articleType was {precision:.2f}"
        assert empty <= len(held_out) // 5, f"{empty} held-out catalog photos got no result"
        text = c.post("/search", json={"text": "blue jeans", "k": 5}).json()
        cats = [p.category for p in c.app.state.services.store.get_pins([x["pin_id"] for x in text["results"]])]
        assert cats and sum(cat == "Jeans" for cat in cats) >= 3
        for nonsense in ("spaceship engine", "quarterly tax return"):
            body = c.post("/search", json={"text": nonsense, "k": 5}).json()
            assert body["results"] == [], f"{nonsense!r} should find nothing in a fashion catalog"
