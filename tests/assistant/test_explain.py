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


def test_a_reply_serialises_as_its_dataclass_fields() -> None:
    # the reply's own to_dict replaced dataclasses.asdict (a third of a follow-up turn's CPU): same JSON
    from dataclasses import asdict

    from moodboard.assistant.reply import Reply, ResultItem, SectionReply
    from moodboard.assistant.scene import SceneRegion

    def item(n: int) -> ResultItem:
        return ResultItem(n, n, f"x{n}", "t", "c", "red", 9.5, "EUR", "m", None, None, 0.5, ["vector"], "why", "S")

    reply = Reply(
        session_id="s",
        message="m",
        turn={"text": "hi", "scopes": [{"mode": "only"}]},
        state={"filters": {"colours": ["red"]}},
        results=[item(1), item(2)],
        sections=[SectionReply("S", {"categories": ["c"]}, [item(3)], "note")],
        chips=["in red"],
        facets={"color": {"red": 2}},
        unknown=["zz"],
        notes=["n"],
        timings_ms={"total": 1.0},
        regions=[SceneRegion(0, {"left": 0, "top": 0, "right": 9, "bottom": 9}, "c", 0.9, "edges", [item(4)])],
    )
    assert reply.to_dict() == asdict(reply)
