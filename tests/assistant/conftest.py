"""Small generated catalogs for the assistant's unit tests (no real data needed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from moodboard.assistant.engine import Assistant
from moodboard.assistant.parser import Parser
from moodboard.assistant.understanding import CatalogUnderstanding
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore
from moodboard.core.records import Pin, Product
from moodboard.core.settings import load_settings
from moodboard.index.bundle import SearchIndex
from moodboard.index.profile import learn_profile
from moodboard.rank.search import SearchService
from tests.homes import index_pins, service_over

# (category, subCategory, masterCategory) of a tiny fashion catalog
TYPES = [
    ("Tshirts", "Topwear", "Apparel"),
    ("Shirts", "Topwear", "Apparel"),
    ("Jeans", "Bottomwear", "Apparel"),
    ("Trousers", "Bottomwear", "Apparel"),
    ("Casual Shoes", "Shoes", "Footwear"),
    ("Sandals", "Shoes", "Footwear"),
    ("Watches", "Watches", "Accessories"),
    ("Sunglasses", "Eyewear", "Accessories"),
]
COLOURS = ["Black", "White", "Blue", "Red", "Navy Blue"]
GENDERS = ["Men", "Women", "Unisex"]
STYLES = ["Leather", "Cotton", "Striped", "Slim"]


def make_pins() -> list[Pin]:
    """8 types x 5 colours x 3 genders = 120 pins with deterministic prices and titles."""
    pins = []
    n = 0
    for ti, (cat, sub, master) in enumerate(TYPES):
        for ci, colour in enumerate(COLOURS):
            for gi, gender in enumerate(GENDERS):
                n += 1
                style = STYLES[(ti + ci + gi) % len(STYLES)]
                title = f"Brand{n % 7} {gender} {style} {colour} {cat}"
                if cat == "Tshirts" and n % 2:
                    title += " tee"
                pins.append(
                    Pin(
                        id=n,
                        external_id=f"x{n}",
                        title=title,
                        category=cat,
                        color=colour,
                        attributes={
                            "gender": gender,
                            "subCategory": sub,
                            "masterCategory": master,
                            "usage": "Formal" if n % 3 == 0 else "Casual",
                        },
                        product=Product(price=Decimal(10 + (n * 37) % 90), currency="USD"),
                    )
                )
    return pins


@pytest.fixture(scope="session")
def pins() -> list[Pin]:
    """The generated pins."""
    return make_pins()


@pytest.fixture(scope="session")
def vocab(pins: list[Pin]) -> Vocabulary:
    """Vocabulary learned from the generated pins, split as their catalog profile says."""
    return Vocabulary.from_pins(pins, learn_profile(pins))


@pytest.fixture(scope="session")
def parser(vocab: Vocabulary) -> Parser:
    """Built-in parser over the generated catalog's vocabulary."""
    return Parser(vocab)


@pytest.fixture(scope="session")
def index(pins: list[Pin], tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """The index snapshot of the generated pins (fake title vectors, lexical index, profile, vocabulary)."""
    return index_pins(pins, tmp_path_factory.mktemp("snapshots"))


@pytest.fixture(scope="session")
def service(index: SearchIndex, pins: list[Pin]) -> SearchService:
    """The search service over the generated pins' index."""
    return service_over(index, pins)


@pytest.fixture
def assistant(service: SearchService, store: CatalogStore, tmp_path: Path) -> Assistant:
    """An assistant over the one search service, with sessions in a fresh catalog database."""
    settings = load_settings(home=tmp_path / "home")
    return Assistant(service, CatalogUnderstanding(settings.assistant, service), CatalogSessionStore(store))
