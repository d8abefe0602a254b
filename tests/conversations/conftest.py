"""Fixtures of the conversation suites: each customer catalog behind the HTTP API of the app that
`moodboard serve` builds, over a home made by `moodboard ingest` + `moodboard index` (tests/homes.py).

Two catalogs, two embedders: the fake embedder where a suite is about understanding (parsing, filters,
scopes, references), and the real offline model (`train align` + `index` with the lite towers) where it
is about what the pins look like (goals, photos). Homes are built once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.catalog.demo import with_synthetic_prices
from tests.conftest import find_data_dir
from tests.homes import build_home

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "examples" / "catalogs"
MYNTRA_ITEMS = 3000
"""Myntra rows in the suites' home: an evenly spaced sample (every article type stays represented)."""
MYNTRA_LITE_ITEMS = 1200


def _data(name: str, probe: str) -> Path:
    found = find_data_dir()
    if found is None or not (found / name / probe).is_file():
        pytest.skip(reason=f"{name} catalog not found: set MOODBOARD_DATA_DIR to the shared data folder")
    return found / name


def _client(settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        yield client


def _flipkart_home(root: Path, backend: str) -> object:
    data = _data("flipkart", "products.csv")
    return build_home(
        root / "home",
        data / "products.csv",
        mapping_file=MAPPINGS / "flipkart.toml",
        images_root=data / "images",
        backend=backend,
        align=backend == "lite",
    )


def _myntra_home(root: Path, backend: str, limit: int) -> object:
    data = _data("myntra", "catalog.jsonl")
    mapping = {"id": "id", "title": "productDisplayName", "category": "articleType", "color": "baseColour"}
    priced = with_synthetic_prices(data / "catalog.jsonl", root / "priced.jsonl", mapping, limit)
    return build_home(
        root / "home",
        priced,
        mapping_file=MAPPINGS / "myntra.toml",
        images_root=data,
        backend=backend,
        align=backend == "lite",
    )


@pytest.fixture(scope="session")
def flipkart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Flipkart (original CSV, through its mapping) with the fake embedder."""
    yield from _client(_flipkart_home(tmp_path_factory.mktemp("flipkart"), "fake"))


@pytest.fixture(scope="session")
def flipkart_lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """Flipkart with the real offline model (aligner trained on the catalog, then indexed)."""
    yield from _client(_flipkart_home(tmp_path_factory.mktemp("flipkart-lite"), "lite"))


@pytest.fixture(scope="session")
def myntra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A Myntra sample with synthetic prices, with the fake embedder."""
    yield from _client(_myntra_home(tmp_path_factory.mktemp("myntra"), "fake", MYNTRA_ITEMS))


@pytest.fixture(scope="session")
def myntra_lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A smaller Myntra sample with the real offline model."""
    yield from _client(_myntra_home(tmp_path_factory.mktemp("myntra-lite"), "lite", MYNTRA_LITE_ITEMS))
