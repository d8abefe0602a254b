"""The catalog profile: what `moodboard index` learns about the fields of whatever catalog it is given.

For every field (category, colour, merchant and each attribute) it decides the kind: `categorical`
(one value per item), `multi` (lists such as `White,black` -> {white, black}), `hierarchy` (category
paths such as `Home >> Curtains >> Eyelet` or `Rug, flatwoven` -> rug > flatwoven), `numeric`, or
`text` (free text and ids, not filterable). The separator of a list or path is found from the data: a
separator whose parts are interchangeable (the same words come first and later) makes a list; one
whose first parts form a small, distinct set makes a path. Path levels held by fewer than
`MIN_SUPPORT` items (product names at the end of a crawled path) are pruned. It also keeps value counts,
the currency and price spread, and example queries drawn from the catalog for the UI.

Nothing here knows any one catalog: it is statistics over the pins. The profile is a JSON document
stored in the index snapshot (`profile.json`) and read by filters, facets, the parser and the UI.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from moodboard.core.records import Pin

PROFILE_VERSION = 1
PATH_SEP = " › "
"""How a normalised category path joins its levels."""
LIST_SEPARATORS: tuple[str, ...] = (">>", " > ", "›", "|", ",", "/", ";", " and ", " & ")
MIN_SHARE = 0.05
"""Share of a field's values that must contain a separator before it counts."""
MIN_SUPPORT = 3
"""Fewest items a path level needs to be a level (and not an item's own name)."""
MAX_VALUES = 400
"""Fields with more distinct values than this are free text, not facets."""
MIN_FIELD_SHARE = 0.02
"""Attribute fields held by fewer items than this share are not indexed as filter columns."""
BASE_FIELDS = ("category", "color", "merchant")
SPLIT_MEMO = 50_000
"""Raw values whose split a field profile remembers (distinct raw values; cleared when full)."""
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
Kind = Literal["categorical", "multi", "hierarchy", "numeric", "text"]


def _norm(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().strip("\"'").strip()).lower()


@dataclass
class FieldProfile:
    """What one field holds."""

    name: str
    kind: Kind
    support: int
    separator: str | None = None
    values: dict[str, int] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    depth: int = 1

    def split(self, raw: Any) -> tuple[str, ...]:
        """Normalised values of one raw field value (path prefixes for a hierarchy); memoised, since every
        result card of every response splits its pin's category (a measurable share of a search's CPU)."""
        if raw is None:
            return ()
        text = str(raw)
        memo: dict[str, tuple[str, ...]] = self.__dict__.setdefault("_memo", {})  # not a field: never serialised
        found = memo.get(text)
        if found is None:
            if len(memo) >= SPLIT_MEMO:
                memo.clear()
            found = memo[text] = self._split(text)
        return found

    def _split(self, text: str) -> tuple[str, ...]:
        if not text.strip():
            return ()
        if self.kind == "multi" and self.separator:
            parts = [_norm(p) for p in text.split(self.separator)]
            return tuple(dict.fromkeys(p for p in parts if p))
        if self.kind == "hierarchy" and self.separator:
            levels = [_norm(p) for p in text.split(self.separator)]
            out: list[str] = []
            for level in levels:
                if not level or level.endswith("..."):
                    break
                parent = out[-1].rsplit(PATH_SEP, 1)[-1] if out else ""
                if parent and level.endswith(" " + parent):
                    break  # "Acme Bath Towels" under "Bath Towels": a brand's shelf, not a kind of thing
                path = PATH_SEP.join([*([out[-1]] if out else []), level])
                if self.values and path not in self.values:
                    break
                out.append(path)
            return tuple(out)
        if self.kind in ("categorical", "numeric"):
            return (_norm(text),)
        return ()

    def label(self, value: str) -> str:
        """How a normalised value reads to a person (a path's last level, in the catalog's own case)."""
        shown = self.display.get(value)
        if shown:
            return shown
        return value.rsplit(PATH_SEP, 1)[-1]


@dataclass
class CatalogProfile:
    """The learned description of one catalog (see the module docstring)."""

    n_pins: int = 0
    fields: dict[str, FieldProfile] = field(default_factory=dict)
    currency: str | None = None
    price_quantiles: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    version: int = PROFILE_VERSION

    def values_of(self, name: str, raw: Any) -> tuple[str, ...]:
        """Normalised values of `raw` in field `name` (lower-cased as-is for a field the profile lacks)."""
        prof = self.fields.get(name)
        if prof is None:
            return (_norm(str(raw)),) if raw is not None and str(raw).strip() else ()
        return prof.split(raw)

    def attribute_fields(self) -> list[str]:
        """Attribute fields worth a filter column: categorical, list or path fields held by enough items."""
        floor = max(1, int(MIN_FIELD_SHARE * self.n_pins))
        return [
            f.name
            for f in self.fields.values()
            if f.name not in (*BASE_FIELDS, "availability")
            and f.kind in ("categorical", "multi", "hierarchy")
            and f.support >= floor
        ]

    def label(self, name: str, value: str) -> str:
        """Display form of a normalised value of field `name`."""
        prof = self.fields.get(name)
        return prof.label(value) if prof else value

    def leaf(self, name: str, raw: Any) -> str | None:
        """The deepest known value of `raw` in field `name`, in display form (None when it has none)."""
        vals = self.values_of(name, raw)
        return self.label(name, vals[-1]) if vals else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def to_json(self) -> str:
        """Serialise to JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogProfile:
        """Load a profile written by `to_dict`."""
        fields = {k: FieldProfile(**v) for k, v in data.get("fields", {}).items()}
        return cls(
            n_pins=int(data.get("n_pins", 0)),
            fields=fields,
            currency=data.get("currency"),
            price_quantiles=[float(x) for x in data.get("price_quantiles", [])],
            examples=list(data.get("examples", [])),
            version=int(data.get("version", PROFILE_VERSION)),
        )


def _raw_values(pin: Pin) -> Iterable[tuple[str, str]]:
    if pin.category:
        yield "category", pin.category
    if pin.color:
        yield "color", pin.color
    if pin.product.merchant:
        yield "merchant", pin.product.merchant
    for key, val in pin.attributes.items():
        if isinstance(val, str | int | float) and not isinstance(val, bool) and str(val).strip():
            yield key, str(val)


def _separator(values: Counter[str]) -> tuple[str, Kind] | None:
    """The list or path separator of a field's values, if one is used often enough."""
    total = sum(values.values())
    for sep in LIST_SEPARATORS:
        share = sum(n for v, n in values.items() if sep in v) / total
        if share < MIN_SHARE:
            continue
        # the first parts are compared with the later parts of separated values only: a catalog may file
        # "Chair" beside "Lamp, table", and the lone "Chair" says nothing about whether "table" is a kind of lamp
        first: Counter[str] = Counter()
        later: Counter[str] = Counter()
        single: set[str] = set()
        separated = 0
        for v, n in values.items():
            parts = [_norm(p) for p in v.split(sep) if _norm(p)]
            if len(parts) == 1:
                single.add(parts[0])
            if len(parts) < 2:
                continue
            separated += 1
            first[parts[0]] += n
            for p in parts[1:]:
                later[p] += n
        if not later:
            continue
        overlap = len(set(first) & set(later)) / max(1, min(len(first), len(later)))
        alone = len(set(later) & single) / len(later)
        if overlap >= 0.25 or alone >= 0.5:
            # interchangeable parts ("White,black" and "Black,white"), or parts that are values on their
            # own ("Grey,white" beside "White"): a list. A sub-kind ("pendant" of "Lamp, pendant") rarely is.
            return sep, "multi"
        if sep.strip() in {"&", "and"}:
            continue  # "Tables & Chairs" is one name, not a path
        if len(first) <= max(2, 0.5 * separated):
            return sep, "hierarchy"  # a few kinds, each with its sub-kinds: "Lamp, pendant", "Lamp, table"
    return None


def _profile_field(name: str, values: Counter[str], n_pins: int) -> FieldProfile:
    support = sum(values.values())
    numeric = sum(n for v, n in values.items() if _NUMBER.match(v.strip()))
    if name not in BASE_FIELDS and numeric >= 0.9 * support:
        return FieldProfile(name, "numeric", support)
    found = _separator(values)
    if found is not None:
        sep, kind = found
        prof = FieldProfile(name, kind, support, separator=sep)
        counts: Counter[str] = Counter()
        for v, n in values.items():
            for part in FieldProfile(name, kind, support, separator=sep).split(v):
                counts[part] += n
        if kind == "hierarchy":
            counts = Counter({p: n for p, n in counts.items() if n >= MIN_SUPPORT or (name != "category" and n >= 1)})
            kept = {p for p, n in counts.items() if n >= MIN_SUPPORT}
            counts = Counter({p: n for p, n in counts.items() if p in kept})
            prof.depth = max((p.count(PATH_SEP) + 1 for p in counts), default=1)
        prof.values = dict(counts.most_common())
        if len(prof.values) > MAX_VALUES:
            prof.kind = "text"
        prof.display = _display(values, sep, kind)
        return prof
    counts = Counter({_norm(v): 0 for v in values})
    for v, n in values.items():
        counts[_norm(v)] += n
    long_text = sum(n for v, n in values.items() if len(v) > 60) > 0.5 * support
    single: Kind = "text" if len(counts) > MAX_VALUES or long_text else "categorical"
    if len(counts) > 0.9 * support and support > 20 and name not in BASE_FIELDS:
        single = "text"  # ids, names, links: one value per item
    display: dict[str, str] = {}
    for v, _n in values.most_common():
        display.setdefault(_norm(v), v.strip())
    return FieldProfile(name, single, support, values=dict(counts.most_common()), display=display)


def _display(values: Counter[str], sep: str, kind: Kind) -> dict[str, str]:
    """Display names of normalised parts/paths: the most common original spelling of each last level, or,
    in a comma path ("Lamp, pendant"), of the path so far: its sub-kind alone ("pendant") names nothing."""
    whole = kind == "hierarchy" and sep.strip() == ","
    out: dict[str, str] = {}
    for v, _n in values.most_common():
        parts = [p.strip().strip("\"'") for p in v.split(sep)]
        path: list[str] = []
        shown: list[str] = []
        for p in parts:
            if not p:
                continue
            key = _norm(p) if kind == "multi" else PATH_SEP.join([*path, _norm(p)])
            shown.append(p)
            out.setdefault(key, ", ".join(shown) if whole else p)
            if kind == "hierarchy":
                path.append(_norm(p))
    return out


def learn_profile(pins: Iterable[Pin], n_examples: int = 8) -> CatalogProfile:
    """Learn the profile of a catalog in one pass over its pins (memory ~ distinct values)."""
    raw: dict[str, Counter[str]] = defaultdict(Counter)
    currencies: Counter[str] = Counter()
    prices: list[float] = []
    pairs: Counter[tuple[str, str]] = Counter()
    n = 0
    for pin in pins:
        n += 1
        for name, value in _raw_values(pin):
            raw[name][value] += 1
        if pin.product.price is not None:
            prices.append(float(pin.product.price))
        if pin.product.currency:
            currencies[pin.product.currency] += 1
        if pin.category and pin.color:
            pairs[(pin.color, pin.category)] += 1
    profile = CatalogProfile(n_pins=n)
    for name, values in raw.items():
        profile.fields[name] = _profile_field(name, values, n)
    profile.currency = currencies.most_common(1)[0][0] if currencies else None
    if prices:
        profile.price_quantiles = [round(float(q), 2) for q in np.percentile(prices, [5, 25, 50, 75, 95])]
    profile.examples = _examples(profile, pairs, n_examples)
    return profile


def _examples(profile: CatalogProfile, pairs: Counter[tuple[str, str]], n: int) -> list[str]:
    """Example queries drawn from the catalog: common colour + category pairs, a category with a price cap."""
    out: list[str] = []
    cat = profile.fields.get("category")
    col = profile.fields.get("color")
    for (colour, category), _count in pairs.most_common(50):
        leaf = profile.leaf("category", category)
        shade = profile.values_of("color", colour)
        if not leaf or not shade:
            continue
        text = f"{col.label(shade[0]) if col else shade[0]} {leaf}".lower()
        if text not in out and leaf.lower() not in {o.split(" ", 1)[-1] for o in out}:
            out.append(text)
        if len(out) >= n // 2:
            break
    if cat is not None:
        leaves = [v for v in cat.values if cat.kind != "hierarchy" or v.count(PATH_SEP) + 1 >= min(2, cat.depth)]
        for value in leaves[: n * 2]:
            label = cat.label(value).lower()
            if len(out) >= n - 1:
                break
            if not any(label in o for o in out):
                out.append(label)
    if cat is not None and profile.price_quantiles and cat.values:
        leaf = cat.label(next(iter(cat.values))).lower()
        cap = _round_price(profile.price_quantiles[2])
        out.append(f"{leaf} under {cap:g}")
    if cat is not None and cat.values:  # a goal, in the catalog's own words: its largest group
        out.append(f"ideas for {cat.label(next(iter(cat.values))).lower()}")
    return out[: n + 1]


def _round_price(value: float) -> float:
    """A round price near `value` (two significant digits)."""
    if value <= 0:
        return 0.0
    digits = len(str(int(value))) - 2
    return float(round(value, -digits)) if digits > 0 else float(round(value))


def labels(profile: CatalogProfile, name: str, values: Sequence[str]) -> list[str]:
    """Display forms of several normalised values of one field."""
    return [profile.label(name, v) for v in values]
