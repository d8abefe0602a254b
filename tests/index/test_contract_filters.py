"""The filter half of the `VectorIndex` contract, on every backend: multi-valued fields ("any catalog").

The fixture holds every kind of field a catalog brings: category paths (an item has every level), colour
lists, several merchants, availability, missing prices, and attribute fields the catalog profile found
(`material`, `style`). Expected answers come from a plain-Python reading of the `Filters` semantics
(includes: any value matches; excludes: no value matches; a missing price fails a price bound), not
from another backend, so every backend, the embedded reference ones too, is held to the same meaning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.vector_index import VectorIndex, make_index

DIM = 8
N = 48
TOPS = ("home", "fashion")
KINDS = ("rugs", "lamps", "mugs")
COLOURS: tuple[tuple[str, ...], ...] = (("white", "black"), ("red",), (), ("black",))
AVAILABILITY = ("in_stock", "out_of_stock", "preorder")


def _item(i: int) -> dict[str, Any]:
    """The attributes of item i as plain values (the reference reads these)."""
    top = TOPS[i % 2]
    category = (top,) if i % 7 == 0 else (top, f"{top} > {KINDS[i % 3]}")
    material = ("wood", "metal") if i % 3 == 0 else (("wood",) if i % 2 else ())
    extra = {"material": material, "style": ("boho",) if i % 6 == 0 else ()}
    return {
        "price": None if i % 9 == 0 else float(i),
        "category": category,
        "color": COLOURS[i % 4],
        "availability": (AVAILABILITY[i % 3],),
        "merchant": ("m0", "m1") if i % 5 == 0 else (f"m{i % 3}",),
        **extra,
    }


ITEMS = [_item(i) for i in range(N)]


def _attrs(item: dict[str, Any]) -> ItemAttrs:
    extra = {k: item[k] for k in ("material", "style") if item[k]}
    return ItemAttrs(
        price=item["price"],
        category=item["category"],
        color=item["color"] or None,
        availability=item["availability"][0],
        merchant=item["merchant"],
        extra=extra,
    )


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def index(case: tuple[str, IndexSettings]) -> VectorIndex:
    backend, settings = case
    idx = make_index(settings, DIM, "model-a", backend=backend)
    idx.add(np.arange(N), _vectors(N, DIM, 0), [_attrs(it) for it in ITEMS])
    return idx


def _passes(item: dict[str, Any], raw: dict[str, Any]) -> bool:
    """The reference: what `raw` (the API's filter JSON) means for one item."""
    include: dict[str, list[str]] = {k: v for k, v in (raw.get("attributes") or {}).items()}
    for name in ("category", "color", "availability", "merchant"):
        if name in raw:
            include[name] = [raw[name]] if isinstance(raw[name], str) else raw[name]
    for name, wanted in include.items():
        if not {w.lower() for w in wanted} & set(item[name]):
            return False
    for name, refused in (raw.get("exclude") or {}).items():
        if {r.lower() for r in refused} & set(item[name]):
            return False
    price = item["price"]
    if "price_min" in raw and (price is None or price < raw["price_min"]):
        return False
    return not ("price_max" in raw and (price is None or price > raw["price_max"]))


FILTERS: list[dict[str, Any]] = [
    {"category": "home"},  # the top level of a path
    {"category": ["HOME > RUGS", "fashion > mugs"]},  # deeper levels, any of them, any case
    {"color": "black"},  # one of an item's several colours
    {"color": ["white", "red"]},
    {"exclude": {"color": ["black"]}},  # an item without colours passes an exclude
    {"attributes": {"material": ["WOOD"]}},  # a catalog-profile field
    {"attributes": {"material": ["metal"], "style": ["boho"]}},
    {"exclude": {"material": ["wood"], "category": ["fashion"]}},
    {"merchant": "m1"},  # one of an item's several merchants
    {"availability": ["out_of_stock", "preorder"], "price_max": 30},
    {"exclude": {"availability": ["in_stock"], "merchant": ["m2"]}},
    {"category": "home", "color": "black", "exclude": {"merchant": ["m0"]}, "price_min": 5},
    {"price_min": 0},  # items without a price fail every bound
]


@pytest.mark.parametrize("raw", FILTERS, ids=[str(f) for f in FILTERS])
def test_multi_valued_filters_mean_the_same_on_every_backend(index: VectorIndex, raw: dict[str, Any]) -> None:
    flt = parse_filter(raw)
    expected = {i for i, it in enumerate(ITEMS) if _passes(it, raw)}
    assert 0 < len(expected) < N, "each case must keep some items and drop some"
    ids, _ = index.search(_vectors(1, DIM, 1), N, flt)
    assert {int(i) for i in ids[0] if i >= 0} == expected
    assert index.count_allowed(flt) == len(expected)
    allowed = index.allowed(np.arange(N + 3), flt)  # three ids that are not indexed
    assert set(np.flatnonzero(allowed).tolist()) == expected


def test_facets_count_every_value_of_multi_valued_fields(index: VectorIndex) -> None:
    some = np.array([0, 1, 3, 5, 6, 9, 12, 999])  # 999 is not indexed
    got = index.facet_counts(some, ["category", "color", "merchant", "material"])
    for name in ("category", "color", "merchant", "material"):
        want = Counter(v for i in some.tolist() if i < N for v in ITEMS[i][name])
        assert got[name] == dict(want), name


def test_attribute_codes_use_the_last_value_of_any_field(index: VectorIndex) -> None:
    ids = np.arange(12)
    for name in ("category", "material"):
        codes = index.attribute_codes(ids, name)
        last = [ITEMS[i][name][-1] if ITEMS[i][name] else None for i in ids.tolist()]
        for a in range(12):
            assert (codes[a] == -1) == (last[a] is None), (name, a)
            for b in range(12):
                if last[a] is not None and last[b] is not None:
                    assert (codes[a] == codes[b]) == (last[a] == last[b]), (name, a, b)


def test_an_update_replaces_every_value(index: VectorIndex) -> None:
    index.add(np.array([3]), _vectors(1, DIM, 5), [ItemAttrs(color=("green", "gold"), extra={"material": ("jade",)})])
    for raw, want in (
        ({"color": "black"}, False),  # its old colour is gone
        ({"color": "gold"}, True),
        ({"attributes": {"material": ["jade"]}}, True),
        ({"category": "fashion"}, False),  # so is its old category
        ({"exclude": {"color": ["green"]}}, False),
    ):
        assert bool(index.allowed(np.array([3]), parse_filter(raw))[0]) is want, raw


@pytest.mark.parametrize(
    "call",
    [
        lambda idx: idx.search(np.ones((1, DIM), np.float32), 3, parse_filter({"attributes": {"size": ["m"]}})),
        lambda idx: idx.search(np.ones((1, DIM), np.float32), 3, parse_filter({"exclude": {"size": ["m"]}})),
        lambda idx: idx.count_allowed(parse_filter({"attributes": {"size": ["m"]}})),
        lambda idx: idx.allowed(np.arange(3), parse_filter({"attributes": {"size": ["m"]}})),
        lambda idx: idx.facet_counts(np.arange(3), ["size"]),
        lambda idx: idx.attribute_codes(np.arange(3), "size"),
    ],
)
def test_a_field_the_index_never_held_is_refused(index: VectorIndex, call: Callable[[VectorIndex], Any]) -> None:
    with pytest.raises(InvalidInputError) as err:
        call(index)
    assert "size" in err.value.message and err.value.hint


RARE_N, RARE_DIM = 3000, 32


@pytest.mark.parametrize(
    "raw",
    [{"attributes": {"material": ["stone"]}}, {"exclude": {"material": ["wood"]}}],
    ids=["include", "exclude"],
)
def test_filtered_recall_holds_at_one_percent_selectivity(case: tuple[str, IndexSettings], raw: dict) -> None:
    """1 % of the items pass (30 of 3,000, each with two materials); recall@10 against the exact answer."""
    backend, settings = case
    rng = np.random.default_rng(11)
    rare = set(rng.choice(RARE_N, RARE_N // 100, replace=False).tolist())
    attrs = [
        ItemAttrs(extra={"material": ("stone", "glass") if i in rare else (("wood", "metal") if i % 2 else ("wood",))})
        for i in range(RARE_N)
    ]
    vectors = _vectors(RARE_N, RARE_DIM, 2)
    idx = make_index(settings, RARE_DIM, "model-a", backend=backend)
    idx.add(np.arange(RARE_N), vectors, attrs)
    flt = parse_filter(raw)
    assert idx.count_allowed(flt) == len(rare)
    queries = _vectors(20, RARE_DIM, 3)
    subset = np.array(sorted(rare))
    truth = subset[np.argsort(-(queries @ vectors[subset].T), axis=1)[:, :10]]
    ids, _ = idx.search(queries, 10, flt)
    recall = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(ids, truth, strict=True)])
    assert recall >= 0.95
