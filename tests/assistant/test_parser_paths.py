"""The parser on a catalog whose categories are comma paths beside plain names ("Lamp, pendant", "Lamp,
table", "Table", "Chair"): a sub-kind is meant within the kind the message names, and a kind named with its
sub-kind means the sub-kind (generated catalog, no real data)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from moodboard.assistant.parser import Parser
from moodboard.assistant.refine import refine
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.query import QueryState
from moodboard.core.records import Pin, Product
from moodboard.index.profile import PATH_SEP, learn_profile

CATEGORIES = ["Lamp, pendant", "Lamp, table", "Lamp, floor", "Rug, flatwoven", "Rug, high pile", "Table", "Chair"]
COLOURS = ["White", "White,black", "Softwood,white", "Black", "Grey,white", "Green"]


@pytest.fixture(scope="module")
def parser() -> Parser:
    pins = [
        Pin(
            id=n,
            external_id=f"p{n}",
            title=f"NAME{n % 5} {cat.replace(',', '')} {n}",
            category=cat,
            color=COLOURS[n % len(COLOURS)],
            product=Product(price=Decimal(100 + n), currency="SEK"),
        )
        for n, cat in enumerate(c for c in CATEGORIES for _ in range(10))
    ]
    profile = learn_profile(pins)
    assert profile.fields["category"].kind == "hierarchy" and profile.fields["color"].kind == "multi"
    return Parser(Vocabulary.from_pins(pins, profile))


def cats(parser: Parser, message: str) -> tuple[str, ...]:
    return tuple(c for s in parser.parse(message).scopes for c in s.categories)


def test_a_kind_with_its_sub_kind_means_the_sub_kind(parser: Parser) -> None:
    # regression: "pendant lamps" was {lamp › pendant, lamp}, i.e. every lamp
    assert cats(parser, "show me pendant lamps") == (f"lamp{PATH_SEP}pendant",)
    assert cats(parser, "a flatwoven rug") == (f"rug{PATH_SEP}flatwoven",)


def test_a_shared_name_is_read_within_the_kind_named_beside_it(parser: Parser) -> None:
    # "table" is a lamp's kind in "table lamps", the furniture alone
    assert cats(parser, "table lamps") == (f"lamp{PATH_SEP}table",)
    assert "table" in cats(parser, "white tables")


def test_the_kind_alone_and_scope_changes(parser: Parser) -> None:
    assert cats(parser, "I need a rug for the living room") == ("rug",)
    state = refine(QueryState(), parser.parse("show me pendant lamps"))
    state = refine(state, parser.parse("only table lamps instead", state))
    assert state.filters.categories == (f"lamp{PATH_SEP}table",)
