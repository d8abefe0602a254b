"""Explanations and follow-up chips."""

from __future__ import annotations

from moodboard.assistant.catalog_retriever import CatalogRetriever
from moodboard.assistant.explain import chips, explain, facets
from moodboard.assistant.parser import Parser
from moodboard.assistant.retrieval import RetrievalQuery
from moodboard.core.query import Filters, QueryState, Term, TermKind


def test_explanation_names_the_reasons(retriever: CatalogRetriever) -> None:
    f = Filters(price_max=200, audience="men")
    state = QueryState(positives=(Term(kind=TermKind.TEXT, value="leather"),), filters=f)
    hits = retriever.retrieve(RetrievalQuery(texts=(("leather", 1.0),), profile_pins=((5, 0.3),), filters=f, k=40))
    lines = [explain(h, state, f) for h in hits]
    assert all("under $200" in line and "for men" in line for line in lines)
    assert any(line.startswith("leather") for line in lines)
    assert any("like a pin you saved" in line for line in lines)


def test_facets_count_the_retrieved_set(retriever: CatalogRetriever) -> None:
    hits = retriever.retrieve(RetrievalQuery(filters=Filters(colours=("Red",)), k=10))
    fc = facets(hits)
    assert fc["color"] == {"Red": 10} and sum(fc["category"].values()) == 10


def test_chips_are_messages_the_parser_understands(retriever: CatalogRetriever, parser: Parser) -> None:
    hits = retriever.retrieve(RetrievalQuery(filters=Filters(categories=("Jeans", "Shirts")), k=20))
    out = chips(hits, Filters(), ["tops"])
    assert len(out) >= 4
    for chip in out:
        turn = parser.parse(chip, QueryState(sections=()))
        assert not turn.unknown, chip
