"""refine(state, turn) -> state: the rules, purity and replay."""

from __future__ import annotations

from moodboard.assistant.parser import Parser
from moodboard.assistant.refine import MAX_TERMS, refine
from moodboard.core.query import (
    FilterEdit,
    Filters,
    PriceChange,
    QueryState,
    Reference,
    Scope,
    Section,
    Shown,
    Term,
    TermKind,
    Turn,
)

SHOWN = tuple(Shown(pin_id=100 + i, price=10.0 * (i + 1)) for i in range(5))


def test_refine_does_not_mutate_and_counts_versions() -> None:
    state = QueryState(shown=SHOWN)
    new = refine(state, Turn(colours=("Red",)))
    assert state.filters.colours == () and new.filters.colours == ("Red",) and new.version == 1


def test_colour_include_exclude_interplay() -> None:
    s = refine(QueryState(), Turn(colours=("White",)))
    s = refine(s, Turn(exclude_colours=("White",)))
    assert s.filters.colours == () and s.filters.exclude_colours == ("White",)
    s = refine(s, Turn(colours=("White",)))
    assert s.filters.colours == ("White",) and s.filters.exclude_colours == ()


def test_references_resolve_against_shown() -> None:
    s = refine(QueryState(shown=SHOWN), Turn(references=(Reference(position=3, weight=2.0),)))
    assert s.positives == (Term(kind=TermKind.PIN, value=102, weight=2.0),) and s.focus == 102
    s = refine(s.model_copy(update={"shown": SHOWN}), Turn(references=(Reference(position=3, polarity=-1),)))
    assert s.positives == () and s.negatives[0].value == 102
    s = refine(QueryState(shown=SHOWN), Turn(references=(Reference(position=1, from_end=True),)))
    assert s.focus == 104
    s = refine(QueryState(shown=SHOWN), Turn(references=(Reference(position=9),)))
    assert s.positives == ()  # out of range: nothing changes


def test_none_of_these_negates_everything_shown() -> None:
    s = refine(QueryState(shown=SHOWN), Turn(none_of_these=True))
    assert {t.value for t in s.negatives} == {sh.pin_id for sh in SHOWN}


def test_relative_prices() -> None:
    s = refine(QueryState(shown=SHOWN), Turn(price=PriceChange(relative="cheaper")))
    assert s.filters.price_max == 24.0  # 0.8 x median(10..50)
    s = refine(QueryState(shown=SHOWN, focus=103), Turn(price=PriceChange(relative="below_that")))
    assert s.filters.price_max == 39.99
    s = refine(QueryState(filters=Filters(price_max=200)), Turn(price=PriceChange(relative="below_that")))
    assert s.filters.price_max == 160
    s = refine(QueryState(shown=SHOWN), Turn(price=PriceChange(relative="pricier")))
    assert s.filters.price_min == 36.0
    s = refine(QueryState(), Turn(price=PriceChange(min=100, max=50)))
    assert (s.filters.price_min, s.filters.price_max) == (50, 100)


def test_any_price_clears_the_price_filter(parser: Parser) -> None:
    """Regression: there was no way to drop a price filter short of "start over" (found by the web UI)."""
    s = refine(
        QueryState(filters=Filters(price_min=20, price_max=80, colours=("Red",))),
        Turn(price=PriceChange(relative="any")),
    )
    assert (s.filters.price_min, s.filters.price_max, s.filters.colours) == (None, None, ("Red",))
    for message in ("any price", "show them at any price", "remove the price filter", "price doesn't matter"):
        change = parser.parse(message).price
        assert change == PriceChange(relative="any"), message


def test_scopes_only_also_not() -> None:
    tax = ("category", "subCategory")
    s = refine(QueryState(), Turn(scopes=(Scope(mode="only", categories=("Shirts",), replace=tax),)))
    s = refine(s, Turn(scopes=(Scope(mode="also", categories=("Jeans",)),)))
    assert s.filters.categories == ("Shirts", "Jeans")
    s = refine(s, Turn(scopes=(Scope(mode="not", categories=("Jeans",)),)))
    assert s.filters.categories == ("Shirts",) and s.filters.exclude_categories == ("Jeans",)
    s = refine(s, Turn(scopes=(Scope(mode="only", attributes={"subCategory": ("Shoes",)}, replace=tax),)))
    assert s.filters.categories == () and s.filters.attributes == {"subCategory": ("Shoes",)}


def test_reset_and_plan() -> None:
    s = refine(QueryState(filters=Filters(price_max=5), version=4), Turn(reset=True))
    assert s.is_empty() and s.version == 5
    plan = (Section(name="tops"), Section(name="footwear"))
    gender = Scope(mode="only", attributes={"gender": ("men",)}, replace=("gender",))
    s = refine(QueryState(filters=Filters(colours=("Red",))), Turn(goal="g", plan=plan, scopes=(gender,)))
    assert s.sections == plan and s.filters.colours == () and s.filters.attributes == {"gender": ("men",)}


def test_section_turn_changes_only_that_section() -> None:
    s = QueryState(sections=(Section(name="tops"), Section(name="footwear")))
    s2 = refine(s, Turn(section="footwear", colours=("Brown",)))
    assert s2.sections[0] == s.sections[0] and s2.sections[1].filters.colours == ("Brown",)
    assert s2.filters == s.filters


def test_x_instead_drops_the_earlier_words_but_keeps_photos(parser: Parser) -> None:
    # regression: "show me table lamps" -> "only shoes instead" kept searching for "table lamps"
    photo = Term(kind=TermKind.IMAGE, value="d1")
    s = QueryState(positives=(Term(kind=TermKind.TEXT, value="leather slim"), photo))
    turn = parser.parse("only shoes instead", s)
    assert turn.replace_subject
    s2 = refine(s, turn)
    assert [t.kind for t in s2.positives] == [TermKind.IMAGE]
    assert not parser.parse("only shoes", s).replace_subject  # narrowing keeps the words
    assert refine(s, parser.parse("only shoes", s)).positives == s.positives


def test_terms_are_capped() -> None:
    s = QueryState()
    for i in range(MAX_TERMS + 15):
        s = refine(s, Turn(add_positives=(Term(kind=TermKind.TEXT, value=f"w{i}"),)))
    assert len(s.positives) == MAX_TERMS and s.positives[-1].value == f"w{MAX_TERMS + 14}"


def test_replay_gives_the_same_state(parser: Parser) -> None:
    msgs = ["black jeans for men", "not black", "under $40", "the second one", "cheaper", "start over", "tee"]

    def run() -> QueryState:
        s = QueryState(shown=SHOWN)
        for m in msgs:
            s = refine(s, parser.parse(m, s)).model_copy(update={"shown": SHOWN})
        return s

    assert run() == run()


def test_a_goal_without_sections_stays_on_the_state() -> None:
    # regression (goal_quality): a goal the catalog could not break into sections was answered as plain
    # text and cut off by the relevance cutoff; it now stays a goal, so its nearest pins are shown
    s = refine(QueryState(), Turn(goal="a cosy winter look", add_positives=(Term(kind=TermKind.TEXT, value="cosy"),)))
    assert s.goal == "a cosy winter look" and not s.sections
    assert refine(s, Turn(reset=True)).goal is None


def test_structured_filter_edit_folds_in_with_the_words_of_the_same_turn() -> None:
    """A filter form's edit (issue 17) sets and clears fields; the message's own changes still apply."""
    state = QueryState(filters=Filters(colours=("red",), categories=("lamps",), price_max=80))
    edit = FilterEdit(set=Filters(price_max=40), fields=("price_max",), clear=("category",))
    turn = Turn(text="not white", exclude_colours=("white",), filter_edit=edit)
    after = refine(state, turn)
    assert after.filters == Filters(colours=("red",), exclude_colours=("white",), price_max=40)
    assert after.version == state.version + 1 and not Turn(filter_edit=edit).is_noop()
    # a section-aimed turn edits only that section's filters
    cascade = QueryState(sections=(Section(name="lamps", filters=Filters(colours=("red",))), Section(name="rugs")))
    done = refine(cascade, Turn(section="lamps", filter_edit=FilterEdit(clear=("color",))))
    assert done.sections[0].filters == Filters() and done.sections[1] == cascade.sections[1]
