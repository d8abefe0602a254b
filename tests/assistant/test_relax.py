"""relaxations(filters, what, ...): the softest constraint goes first, refusals never, notes read well."""

from __future__ import annotations

from moodboard.assistant.relax import relaxations
from moodboard.core.query import Filters

LABELS = {"a › showpieces": "Showpieces", "b › showpieces": "Showpieces", "c": "Showpiece", "d": "Bulbs"}


def label(fld: str, value: str) -> str:
    return LABELS.get(value, value)


def test_order_is_attributes_colours_price_then_categories() -> None:
    f = Filters(
        attributes={"material": ("brass",)},
        colours=("green",),
        price_max=40,
        categories=("d",),
        exclude_colours=("white",),
    )
    steps = relaxations(f, "lamps", label, "EUR")
    assert steps[0][0].attributes == {}
    assert steps[1][0].colours == () and steps[1][0].price_max == 40
    assert steps[2][0].price_max is None and steps[2][0].categories == ("d",)
    assert steps[3][0].categories == ()
    assert all(s.exclude_colours == ("white",) for s, _ in steps)  # what the shopper refused stays refused
    assert steps[1][1] == "No green lamps; here are lamps in other colours."
    assert "under €40" in steps[2][1]


def test_a_name_shared_by_several_values_is_said_once() -> None:
    # regression: "No Bulbs Showpieces Showpieces Showpiece with Table" after "also show me showpieces"
    f = Filters(categories=("d", "a › showpieces", "b › showpieces", "c"))
    ((_, note),) = relaxations(f, "lamps", label, None)
    assert note.startswith("Nothing matches Bulbs or Showpieces with")
