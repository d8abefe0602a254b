"""The built-in parser: one message -> one Turn, on a generated catalog (no real data)."""

from __future__ import annotations

from moodboard.assistant.parser import Parser
from moodboard.core.query import QueryState, Section, Shown, TermKind


def test_colours_and_negation(parser: Parser) -> None:
    t = parser.parse("navy blue jeans, not white, no black")
    assert t.colours == ("navy blue",)
    assert set(t.exclude_colours) == {"white", "black"}
    assert t.scopes[0].categories == ("jeans",)


def test_price_forms(parser: Parser) -> None:
    assert parser.parse("under $200").price.max == 200  # type: ignore[union-attr]
    p = parser.parse("between 50 and 100").price
    assert p is not None and (p.min, p.max) == (50, 100)
    p = parser.parse("shirts from $20 to $40").price
    assert p is not None and (p.min, p.max) == (20, 40)
    assert parser.parse("over 80 dollars").price.min == 80  # type: ignore[union-attr]
    assert parser.parse("cheaper").price.relative == "cheaper"  # type: ignore[union-attr]
    assert parser.parse("less than that").price.relative == "below_that"  # type: ignore[union-attr]
    assert parser.parse("something more expensive").price.relative == "pricier"  # type: ignore[union-attr]
    assert parser.parse("under 2k").price.max == 2000  # type: ignore[union-attr]


def test_a_compound_written_apart_names_the_one_word_category(parser: Parser) -> None:
    # regression: "bed sheets" missed the catalog's "Bedsheets" and matched an attribute value "bed" instead
    (s,) = parser.parse("red t shirts").scopes
    assert s.categories == ("tshirts",)
    assert parser.parse("red t shirts").colours == ("red",)


def test_an_attribute_value_that_modifies_the_next_word_stays_soft(parser: Parser) -> None:
    # regression: "table lamps" became the hard filter Suitable For = table plus the text "lamps"
    t = parser.parse("formal leather")
    assert not any("usage" in s.attributes for s in t.scopes)
    assert [str(p.value) for p in t.add_positives] == ["formal leather"]
    # ... but the value stays a filter before a phrase of its own, or alone
    assert any(s.attributes.get("usage") == ("formal",) for s in parser.parse("formal shoes").scopes)
    assert any(s.attributes.get("usage") == ("formal",) for s in parser.parse("something formal").scopes)


def test_references(parser: Parser) -> None:
    (r,) = parser.parse("the third one").references
    assert (r.position, r.polarity) == (3, 1)
    (r,) = parser.parse("less like #2").references
    assert (r.position, r.polarity) == (2, -1)
    (r,) = parser.parse("more like this").references
    assert r.position is None and r.polarity == 1
    (r,) = parser.parse("more like the last one").references
    assert r.from_end and r.position == 1
    assert parser.parse("none of these").none_of_these


def test_scope_words(parser: Parser) -> None:
    (s,) = parser.parse("only shoes").scopes
    assert (s.mode == "only" and s.attributes == {"subcategory": ("shoes",)}) or s.attributes == {
        "subCategory": ("shoes",)
    }
    assert "category" in s.replace and "subCategory" in s.replace
    (s,) = parser.parse("also show sunglasses").scopes
    assert s.mode == "also" and s.categories == ("sunglasses",)
    (s,) = parser.parse("no sandals").scopes
    assert s.mode == "not" and s.categories == ("sandals",)


def test_audience_becomes_a_filter_on_the_learned_audience_field(parser: Parser) -> None:
    t = parser.parse("slim leather watches for women")
    scopes = {k: v for s in t.scopes for k, v in s.attributes.items()}
    assert set(scopes["gender"]) == {"women", "unisex"}  # the catalog's own values for "women"
    assert t.add_positives[0].kind == TermKind.TEXT and set(str(t.add_positives[0].value).split()) == {
        "slim",
        "leather",
    }


def test_unknown_words_stay_soft_text_beside_known_ones(parser: Parser) -> None:
    # regression (any-catalog issue): unknown words must never become filters; with known words they
    # steer the dense ranking, alone they are only reported
    t = parser.parse("minimal boho tshirts")
    assert t.add_positives[0].value == "minimal boho" and t.unknown == ("minimal", "boho")
    assert t.scopes[0].categories == ("tshirts",)


def test_learned_synonym(parser: Parser) -> None:
    # "tee" is no category value; titles that say "tee" are all Tshirts, so the word points there
    (s,) = parser.parse("a black tee").scopes
    assert s.categories == ("tshirts",)


def test_reset_and_rest_of_message(parser: Parser) -> None:
    t = parser.parse("start over: red jeans")
    assert t.reset and t.colours == ("red",) and t.scopes[0].categories == ("jeans",)


def test_unknown_words_are_reported_not_fatal(parser: Parser) -> None:
    t = parser.parse("qwxz jeans blorf")
    assert t.unknown == ("qwxz", "blorf") and t.scopes[0].categories == ("jeans",)
    t = parser.parse("Zeig mir bitte rote Schuhe")
    assert t.is_noop() and t.unknown
    assert parser.parse("🙂🔥").is_noop()
    assert parser.parse("").is_noop()


def test_section_target(parser: Parser) -> None:
    state = QueryState(sections=(Section(name="footwear"), Section(name="tops")), shown=(Shown(pin_id=1),))
    t = parser.parse("the footwear, but red", state)
    assert t.section == "footwear" and t.colours == ("red",) and not t.scopes


def test_goal_detection(parser: Parser) -> None:
    t = parser.parse("help me plan an outfit for a beach wedding")
    assert t.goal == "an outfit for a beach wedding" and not t.plan  # the engine plans it on the catalog
    assert not t.add_positives and not t.scopes
    assert parser.parse("red jeans").goal is None


def test_parse_is_pure(parser: Parser) -> None:
    state = QueryState(shown=(Shown(pin_id=5),))
    assert parser.parse("more like the first one, under $30", state) == parser.parse(
        "more like the first one, under $30", state
    )


def test_pathological_messages_stay_cheap_and_bounded(parser: Parser) -> None:
    import time

    for message in ["#1 " * 1300, "between 1 and " * 280, "$" * 4000, "not " * 1000, "a" * 4000]:
        t = time.perf_counter()
        turn = parser.parse(message[:4000])
        assert time.perf_counter() - t < 2.0
        assert len(turn.references) <= 12 and len(turn.unknown) <= 20


def test_goal_topic_drops_the_goal_phrasing_but_keeps_what_it_is_about() -> None:
    from moodboard.assistant.planner import goal_topic

    assert goal_topic("plan a cosy bedroom makeover") == "cosy bedroom"
    assert goal_topic("set up a home office") == "home office"
    assert "gift" in goal_topic("a gift for a new baby")  # a gift is what the goal is about
    assert goal_topic("what do i need") == "what do i need"  # nothing else left: the goal itself
