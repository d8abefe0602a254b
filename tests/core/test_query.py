"""QueryState / Turn records: JSON round trip, validation, emptiness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodboard.core.errors import InvalidInputError
from moodboard.core.query import Filters, QueryState, Section, Shown, Term, TermKind, Turn

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
terms = st.builds(
    Term,
    kind=st.sampled_from(list(TermKind)),
    value=st.one_of(words, st.integers(min_value=0, max_value=10**9)),
    weight=st.floats(min_value=0.01, max_value=10),
)
filters = st.builds(
    Filters,
    price_min=st.none() | st.floats(min_value=0, max_value=1e6),
    price_max=st.none() | st.floats(min_value=0, max_value=1e6),
    colours=st.tuples(words),
    exclude_colours=st.tuples(words),
    categories=st.tuples(words, words),
    attributes=st.dictionaries(words, st.tuples(words), max_size=3),
)
states = st.builds(
    QueryState,
    positives=st.lists(terms, max_size=5).map(tuple),
    negatives=st.lists(terms, max_size=5).map(tuple),
    filters=filters,
    goal=st.none() | words,
    sections=st.lists(st.builds(Section, name=words, filters=filters), max_size=3).map(tuple),
    shown=st.lists(st.builds(Shown, pin_id=st.integers(0, 10**6)), max_size=5).map(tuple),
    version=st.integers(0, 1000),
)


@settings(max_examples=60, deadline=None)
@given(states)
def test_state_json_round_trip(state: QueryState) -> None:
    assert QueryState.from_json(state.to_json()) == state
    assert QueryState.from_dict(state.to_dict()) == state


def test_turn_round_trip() -> None:
    turn = Turn(text="red shirts", colours=("Red",), add_positives=(Term(kind=TermKind.TEXT, value="linen"),))
    assert Turn.from_json(turn.to_json()) == turn


def test_invalid_json_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="state"):
        QueryState.from_json('{"positives": [{"kind": "sound", "value": 1}]}')
    with pytest.raises(InvalidInputError):
        QueryState.from_json("not json")


def test_empty_state_and_noop_turn() -> None:
    assert QueryState().is_empty()
    assert not QueryState(filters=Filters(price_max=3)).is_empty()
    assert Turn(text="zzz", unknown=("zzz",)).is_noop()
    assert not Turn(colours=("Red",)).is_noop()


def test_records_are_frozen() -> None:
    state = QueryState()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        state.goal = "x"  # type: ignore[misc]
