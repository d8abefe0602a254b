"""Explanations and follow-up chips, in the catalog's own currency, from the pool's facets."""

from __future__ import annotations

from moodboard.assistant.explain import Hit, chips, explain, money
from moodboard.assistant.parser import Parser
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.query import Filters, QueryState, Section, Term, TermKind
from moodboard.core.records import Pin
from moodboard.rank.search import SearchRequest, SearchService


def test_money_uses_the_catalog_currency() -> None:
    assert money(40, "USD") == "$40" and money(1299, "INR") == "₹1,299" and money(12.5, "CHF") == "CHF 12.50"
    assert money(3, None) == "3"


def test_explanation_names_the_reasons(service: SearchService, pins: list[Pin]) -> None:
    f = Filters(price_max=200)
    state = QueryState(positives=(Term(kind=TermKind.TEXT, value="leather"),), filters=f)
    response = service.search(SearchRequest(text="leather", filters=f, k=20, cutoff=False))
    assert response.hits
    lines = [
        explain(Hit(h.pin, h.score, tuple(h.sources)), state, f, False, "EUR", None) for h in response.hits if h.pin
    ]
    assert all("under €200" in line for line in lines)
    assert any(line.startswith("leather") for line in lines)


def test_chips_are_messages_the_parser_understands(service: SearchService, parser: Parser, vocab: Vocabulary) -> None:
    response = service.search(SearchRequest(text="jeans shirts", k=20, cutoff=False))
    prices = [float(h.pin.product.price) for h in response.hits if h.pin and h.pin.product.price is not None]
    out = chips(response.facets, Filters(), vocab.label, prices, "USD", ["tops"])
    assert len(out) >= 4
    for chip in out:
        turn = parser.parse(chip, QueryState(sections=(Section(name="tops"),)))
        assert not turn.unknown, chip
