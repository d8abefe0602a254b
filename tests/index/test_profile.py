"""The catalog profile learned from a catalog shaped like neither test customer (a third one)."""

from __future__ import annotations

from decimal import Decimal

from moodboard.core.records import Pin, Product
from moodboard.index.profile import PATH_SEP, CatalogProfile, learn_profile

KINDS = {"Rug": ["flatwoven", "high pile", "low pile"], "Lamp": ["pendant", "table", "floor"], "Chair": ["armchair"]}
MATERIALS = ["Softwood,white", "Steel", "Wool,jute", "Jute", "Steel,softwood", "Jute,wool"]
COLOURS = ["White", "White,black", "Black", "In,outdoor dark grey", "Grey,white", "Beige"]


def _pins() -> list[Pin]:
    pins = []
    n = 0
    for kind, subs in KINDS.items():
        for sub in subs:
            for i in range(12):
                colour = COLOURS[(n + i) % len(COLOURS)]
                pins.append(
                    Pin(
                        id=n,
                        external_id=f"sku-{n}",
                        title=f"{sub} {kind.lower()} {i}",
                        category=f"{kind}, {sub}",
                        color=colour,
                        attributes={"material": MATERIALS[i % len(MATERIALS)], "width_cm": str(40 + i)},
                        product=Product(price=Decimal(100 + 10 * i), currency="SEK"),
                    )
                )
                n += 1
    return pins


def test_comma_category_is_a_path_and_comma_colour_is_a_list() -> None:
    profile = learn_profile(_pins())
    cat, col = profile.fields["category"], profile.fields["color"]
    assert cat.kind == "hierarchy" and cat.separator == ","
    assert f"rug{PATH_SEP}flatwoven" in cat.values and "rug" in cat.values
    assert profile.values_of("category", "Lamp, pendant") == ("lamp", f"lamp{PATH_SEP}pendant")
    # a comma path reads as the operator wrote it: its sub-kind alone ("pendant") names nothing
    assert profile.label("category", f"lamp{PATH_SEP}pendant") == "Lamp, pendant"
    assert profile.label("category", "lamp") == "Lamp"
    assert col.kind == "multi"
    assert set(profile.values_of("color", "White,black")) == {"white", "black"}
    assert profile.fields["material"].kind == "multi"
    assert profile.fields["width_cm"].kind == "numeric"
    assert profile.currency == "SEK" and len(profile.price_quantiles) == 5


def test_examples_come_from_the_catalog_and_the_profile_round_trips() -> None:
    profile = learn_profile(_pins())
    words = {w for p in _pins() for w in f"{p.title} {p.category} {p.color}".lower().replace(",", " ").split()}
    assert profile.examples
    for example in profile.examples:
        content = [
            w
            for w in example.replace(",", " ").split()
            if w not in {"under", "ideas", "for"} and not w.replace(".", "").isdigit()
        ]
        assert content and set(content) <= words, example
    assert CatalogProfile.from_dict(profile.to_dict()) == profile
