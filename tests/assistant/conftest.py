"""Small generated catalogs for the assistant's unit tests (no real data needed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from moodboard.assistant.catalog_retriever import CatalogRetriever
from moodboard.assistant.parser import Parser
from moodboard.assistant.planner import Planner
from moodboard.assistant.taxonomy import Taxonomy
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.records import Pin, Product

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
                        product=Product(price=Decimal(10 + (n * 37) % 90)),
                    )
                )
    return pins


@pytest.fixture(scope="session")
def pins() -> list[Pin]:
    """The generated pins."""
    return make_pins()


@pytest.fixture(scope="session")
def vocab(pins: list[Pin]) -> Vocabulary:
    """Vocabulary learned from the generated pins."""
    return Vocabulary.from_pins(pins)


@pytest.fixture(scope="session")
def parser(vocab: Vocabulary) -> Parser:
    """Built-in parser with a catalog-only planner (no real taxonomy)."""
    return Parser(vocab, Planner(vocab, Taxonomy()))


@pytest.fixture(scope="session")
def retriever(pins: list[Pin], vocab: Vocabulary) -> CatalogRetriever:
    """The in-process retriever over the generated pins."""
    return CatalogRetriever(pins, vocab)
