"""Per-item filter attributes as compact multi-valued columns, filters over them, and facet counts.

Every code field (category, colour, availability, merchant, plus the attribute fields the catalog
profile found categorical) is stored as CSR-style columns: `indptr` (n + 1) and `codes` (one int32 per
value), so an item can have several values (colours {white, black}; every level of a category path).
A filter is one `moodboard.core.query.Filters`: includes and excludes per field, and a price range.
Filtering a million items is a handful of vectorised operations, not a Python loop.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.core.query import FilterEdit, Filters
from moodboard.core.records import Availability, Pin

BoolArray = NDArray[np.bool_]

CODE_FIELDS: tuple[str, ...] = ("category", "color", "availability", "merchant")
FACET_FIELDS: tuple[str, ...] = (*CODE_FIELDS, "price")
FILTER_FIELDS: tuple[str, ...] = ("price_min", "price_max", *CODE_FIELDS, "attributes", "exclude")
PRICE_STEPS: tuple[float, ...] = (1.0, 2.5, 5.0)
"""Price facet edges are these times powers of ten, fitted to the pool's own price range."""


def _norm(value: Any) -> str:
    return str(value).strip().lower()


ValueSplitter = Any
"""Anything with `values_of(field, raw) -> tuple[str, ...]` (the catalog profile)."""


@dataclass(frozen=True, slots=True)
class ItemAttrs:
    """Filterable attributes of one item; strings are matched case-insensitively.

    `category`, `color`, `availability` and `merchant` take one value or several; `extra` holds other
    fields' values (already split by the catalog profile).
    """

    price: float | None = None
    category: str | tuple[str, ...] | None = None
    color: str | tuple[str, ...] | None = None
    availability: str | None = None
    merchant: str | tuple[str, ...] | None = None
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_pin(cls, pin: Pin, profile: ValueSplitter | None = None) -> ItemAttrs:
        """Take the filterable attributes of a catalog pin, split by the catalog profile when given."""
        price = pin.product.price

        def values(name: str, raw: Any) -> tuple[str, ...] | str | None:
            if profile is None:
                return raw if raw is None else str(raw)
            return tuple(profile.values_of(name, raw))

        extra: dict[str, tuple[str, ...]] = {}
        if profile is not None:
            for name in profile.attribute_fields():
                found = tuple(profile.values_of(name, pin.attributes.get(name)))
                if found:
                    extra[name] = found
        return cls(
            price=float(price) if price is not None else None,
            category=values("category", pin.category),  # type: ignore[arg-type]
            color=values("color", pin.color),  # type: ignore[arg-type]
            availability=pin.product.availability.value,
            merchant=values("merchant", pin.product.merchant),  # type: ignore[arg-type]
            extra=extra,
        )

    def values(self) -> dict[str, tuple[str, ...]]:
        """Every field's normalised values."""
        out: dict[str, tuple[str, ...]] = {}
        for name in CODE_FIELDS:
            raw = getattr(self, name)
            if raw is None:
                continue
            items = (raw,) if isinstance(raw, str) else raw
            vals = tuple(dict.fromkeys(_norm(v) for v in items if str(v).strip()))
            if vals:
                out[name] = vals
        for name, raw_vals in self.extra.items():
            vals = tuple(dict.fromkeys(_norm(v) for v in raw_vals if str(v).strip()))
            if vals:
                out[name] = vals
        return out


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (_norm(value),)
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return tuple(_norm(v) for v in value)
    raise InvalidInputError(
        f"filter {name} must be a string or a list of strings",
        f'pass e.g. {{"{name}": ["a", "b"]}}',
        field=f"filters.{name}",
    )


def _price(name: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"filter {name} must be a number, got {value!r}", "pass e.g. 49.90", field=f"filters.{name}"
        ) from exc
    if not math.isfinite(number) or number < 0:
        raise InvalidInputError(
            f"filter {name} must be a finite non-negative number", "pass e.g. 49.90", field=f"filters.{name}"
        )
    return number


def _field_map(name: str, raw: Any) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidInputError(
            f"filter {name} must map field names to values",
            f'pass e.g. {{"{name}": {{"material": ["wood"]}}}}',
            field=f"filters.{name}",
        )
    return {str(k): _strings(f"{name}.{k}", v) for k, v in raw.items()}


def parse_filter(raw: Mapping[str, Any] | Filters | None) -> Filters:
    """Build a filter from the API's JSON form, refusing unknown fields and bad values.

    Example: `parse_filter({"price_max": 50, "color": ["red"], "exclude": {"color": ["white"]}})`;
    `attributes` includes values of other fields (`{"attributes": {"material": ["wood"]}}`).

    Raises:
        InvalidInputError: on an unknown field, a non-numeric or negative price, or min > max.
    """
    if raw is None:
        return Filters()
    if isinstance(raw, Filters):
        return raw
    unknown = sorted(set(raw) - set(FILTER_FIELDS))
    if unknown:
        raise InvalidInputError(
            f"unknown filter field {unknown[0]!r}",
            f"use only {', '.join(FILTER_FIELDS)}",
            field=f"filters.{unknown[0]}",
        )
    lo, hi = _price("price_min", raw.get("price_min")), _price("price_max", raw.get("price_max"))
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInputError("filter price_min is above price_max", "swap them", field="filters.price_min")
    avail = _strings("availability", raw.get("availability"))
    known = {a.value for a in Availability}
    bad = [v for v in avail if v not in known]
    if bad:
        raise InvalidInputError(
            f"unknown availability {bad[0]!r}", f"use one of {', '.join(sorted(known))}", field="filters.availability"
        )
    attributes = _field_map("attributes", raw.get("attributes"))
    for name in ("availability", "merchant"):
        vals = _strings(name, raw.get(name))
        if vals:
            attributes[name] = vals
    exclude = _field_map("exclude", raw.get("exclude"))
    return Filters(
        price_min=lo,
        price_max=hi,
        categories=_strings("category", raw.get("category")),
        colours=_strings("color", raw.get("color")),
        attributes=attributes,
        exclude_categories=exclude.pop("category", ()),
        exclude_colours=exclude.pop("color", ()),
        exclude_attributes=exclude,
    )


def parse_filter_edit(raw: Mapping[str, Any] | None, remove: Sequence[str] = ()) -> FilterEdit:
    """A structured filter change from the API's JSON: `raw` (the `POST /search` filter form) sets the
    fields it names, `remove` clears fields (`price`, `price_min`, `price_max`, `category`, `color`, or
    an attribute name).

    Raises:
        InvalidInputError: on what `parse_filter` refuses, or a field name to remove that is not a name.
    """
    raw = raw or {}
    flt = parse_filter(raw)
    fields = [k for k in raw if k in ("price_min", "price_max", "category", "color", "availability", "merchant")]
    for key in ("attributes", "exclude"):
        fields += [str(k) for k in (raw.get(key) or {})]
    bad = [r for r in remove if not isinstance(r, str) or not r.strip() or len(r) > 100]
    if bad:
        raise InvalidInputError(
            f"cannot remove the filter {bad[0]!r}",
            "name a field: price, price_min, price_max, category, color or an attribute",
            field="remove_filters",
        )
    clear = tuple(dict.fromkeys(r.strip() for r in remove))
    return FilterEdit(set=flt, fields=tuple(dict.fromkeys(fields)), clear=clear)


def filter_to_dict(flt: Filters) -> dict[str, Any]:
    """The filter in the API's JSON form, omitting unconstrained fields."""
    out: dict[str, Any] = {}
    if flt.price_min is not None:
        out["price_min"] = flt.price_min
    if flt.price_max is not None:
        out["price_max"] = flt.price_max
    if flt.categories:
        out["category"] = list(flt.categories)
    if flt.colours:
        out["color"] = list(flt.colours)
    if flt.attributes:
        out["attributes"] = {k: list(v) for k, v in flt.attributes.items()}
    exclude = {k: list(v) for k, v in flt.excludes().items()}
    if exclude:
        out["exclude"] = exclude
    return out


class _Column:
    """One multi-valued code field: values of slot i are `codes[indptr[i]:indptr[i + 1]]` (code 0 unused)."""

    def __init__(self, n: int = 0) -> None:
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.codes = np.zeros(0, dtype=np.int32)
        self.vocab: list[str] = [""]
        self.lookup: dict[str, int] = {}
        self._rows: NDArray[np.int64] | None = None

    def code(self, value: str) -> int:
        found = self.lookup.get(value)
        if found is None:
            found = len(self.vocab)
            self.vocab.append(value)
            self.lookup[value] = found
        return found

    def append(self, rows: Sequence[tuple[str, ...]]) -> None:
        counts = np.array([len(r) for r in rows], dtype=np.int64)
        flat = np.array([self.code(v) for r in rows for v in r], dtype=np.int32)
        self.indptr = np.concatenate([self.indptr, self.indptr[-1] + np.cumsum(counts)])
        self.codes = np.concatenate([self.codes, flat])
        self._rows = None

    def rows(self) -> NDArray[np.int64]:
        """The slot of every stored code (cached until the next append)."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.indptr.shape[0] - 1, dtype=np.int64), np.diff(self.indptr))
        return self._rows

    def having(self, values: Sequence[str], n: int) -> BoolArray:
        """Slots with at least one of `values`."""
        out = np.zeros(n, dtype=bool)
        codes = [self.lookup[v] for v in values if v in self.lookup]
        if codes:
            out[self.rows()[np.isin(self.codes, np.array(codes, dtype=np.int32))]] = True
        return out

    def of(self, slots: NDArray[np.int64]) -> NDArray[np.int32]:
        """Every code of the given slots, concatenated."""
        if slots.shape[0] == 0:
            return np.zeros(0, dtype=np.int32)
        starts, lens = self.indptr[slots], self.indptr[slots + 1] - self.indptr[slots]
        # one gather instead of a slice per slot (facets of a 200-pin pool read ~1,000 codes per request)
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
        return self.codes[np.arange(int(lens.sum()), dtype=np.int64) + offsets]

    def last(self, slots: NDArray[np.int64]) -> NDArray[np.int64]:
        """The last (deepest) code of each slot, 0 when it has none."""
        start, end = self.indptr[slots], self.indptr[slots + 1]
        out = np.zeros(slots.shape[0], dtype=np.int64)
        has = end > start
        out[has] = self.codes[end[has] - 1]
        return out

    def take(self, slots: NDArray[np.int64]) -> _Column:
        col = _Column(0)
        col.vocab, col.lookup = list(self.vocab), dict(self.lookup)
        col.append([tuple(self.vocab[c] for c in self.codes[self.indptr[s] : self.indptr[s + 1]]) for s in slots])
        return col


class AttributeTable:
    """Columnar attributes indexed by slot: a price column and one multi-valued column per code field."""

    def __init__(self) -> None:
        """Create an empty table with the base code fields."""
        self.price = np.zeros(0, dtype=np.float32)
        self.columns: dict[str, _Column] = {f: _Column() for f in CODE_FIELDS}

    def __len__(self) -> int:
        """Number of slots."""
        return int(self.price.shape[0])

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the code fields held."""
        return tuple(self.columns)

    def append(self, attrs: Sequence[ItemAttrs]) -> None:
        """Append one row per item, in slot order."""
        n = len(self)
        price = np.array([a.price if a.price is not None else np.nan for a in attrs], dtype=np.float32).reshape(-1)
        values = [a.values() for a in attrs]
        for name in sorted({k for v in values for k in v} - set(self.columns)):
            self.columns[name] = _Column(n)
        for name, col in self.columns.items():
            col.append([v.get(name, ()) for v in values])
        self.price = np.concatenate([self.price, price])

    def take(self, slots: NDArray[np.int64]) -> AttributeTable:
        """A new table holding only `slots`, in that order (used when compacting)."""
        out = AttributeTable()
        out.price = self.price[slots]
        out.columns = {f: c.take(slots) for f, c in self.columns.items()}
        return out

    def mask(self, flt: Filters) -> BoolArray:
        """Boolean mask over slots of the rows that pass `flt` (includes: any value; excludes: none).

        Raises:
            InvalidInputError: when the filter names a field this index does not hold.
        """
        n = len(self)
        keep = np.ones(n, dtype=bool)
        if flt.price_min is not None:
            keep &= self.price >= flt.price_min  # NaN (no price) fails any price bound
        if flt.price_max is not None:
            keep &= self.price <= flt.price_max
        for name, wanted in flt.includes().items():
            keep &= self._column(name).having([_norm(v) for v in wanted], n)
        for name, refused in flt.excludes().items():
            keep &= ~self._column(name).having([_norm(v) for v in refused], n)
        return keep

    def _column(self, name: str) -> _Column:
        col = self.columns.get(name)
        if col is None:
            raise InvalidInputError(
                f"unknown filter field {name!r}", f"filter on one of {', '.join(self.columns)}", field="filters"
            )
        return col

    def last_codes(self, slots: NDArray[np.int64], name: str) -> NDArray[np.int64]:
        """The deepest code of field `name` per slot (0 = none)."""
        return self._column(name).last(slots)

    def counts(self, slots: NDArray[np.int64], fields: Sequence[str] = FACET_FIELDS) -> dict[str, dict[str, int]]:
        """Facet counts of the given slots (the retrieved, filtered set), most frequent value first.

        Raises:
            InvalidInputError: on an unknown facet field.
        """
        out: dict[str, dict[str, int]] = {}
        for name in fields:
            if name == "price":
                out[name] = price_buckets(self.price[slots])
                continue
            col = self.columns.get(name)
            if col is None:
                raise InvalidInputError(
                    f"unknown facet field {name!r}", f"use {', '.join((*self.columns, 'price'))}", field="facets"
                )
            codes = col.of(slots)
            bins = np.bincount(codes[codes > 0], minlength=len(col.vocab))
            order = np.argsort(-bins, kind="stable")
            out[name] = {col.vocab[i]: int(bins[i]) for i in order if bins[i] > 0}
        return out

    def nbytes(self) -> int:
        """Memory held by the columns."""
        return int(self.price.nbytes + sum(c.indptr.nbytes + c.codes.nbytes for c in self.columns.values()))

    def save(self, folder: Path) -> None:
        """Write the columns and vocabularies into `folder`."""
        arrays: dict[str, Any] = {"price": self.price}
        for i, col in enumerate(self.columns.values()):
            arrays[f"indptr_{i}"] = col.indptr
            arrays[f"codes_{i}"] = col.codes
        np.savez(folder / "attributes.npz", **arrays)
        vocab = {"fields": list(self.columns), "vocab": [c.vocab for c in self.columns.values()]}
        (folder / "attribute_vocab.json").write_text(json.dumps(vocab))

    @classmethod
    def load(cls, folder: Path) -> AttributeTable:
        """Read a table written by `save`."""
        try:
            meta = json.loads((folder / "attribute_vocab.json").read_text())
            table = cls()
            table.columns = {}
            with np.load(folder / "attributes.npz") as data:
                table.price = data["price"].astype(np.float32)
                for i, (name, vocab) in enumerate(zip(meta["fields"], meta["vocab"], strict=True)):
                    col = _Column(0)
                    col.indptr = data[f"indptr_{i}"].astype(np.int64)
                    col.codes = data[f"codes_{i}"].astype(np.int32)
                    col.vocab = list(vocab)
                    col.lookup = {v: j for j, v in enumerate(vocab) if j}
                    table.columns[name] = col
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise SnapshotError(
                f"cannot read attributes in {folder}: {exc}", "rebuild the index with `moodboard index`"
            ) from exc
        return table


def price_buckets(prices: NDArray[np.float32]) -> dict[str, int]:
    """Counts of prices in about five round-number bands fitted to their range (any currency's scale)."""
    prices = np.sort(prices[np.isfinite(prices)])
    n_prices = prices.shape[0]
    if n_prices == 0:
        return {}
    # the 5th and 95th percentiles (linear interpolation, as np.percentile) read off the sorted prices
    lo, hi = (float(v) for v in np.interp([0.05 * (n_prices - 1), 0.95 * (n_prices - 1)], np.arange(n_prices), prices))
    edges = sorted({_round_edge(v) for v in np.geomspace(max(lo, 1e-2), max(hi, lo * 1.01, 1e-2), 5)[1:]})
    bounds = (0.0, *edges, math.inf)
    # bounds in the prices' own precision: a float32 price of 0.01 is in the band that starts at 0.01
    at = np.searchsorted(prices, np.array(bounds, dtype=prices.dtype), side="left")  # prices below each bound
    out: dict[str, int] = {}
    for (a, b), n in zip(itertools.pairwise(bounds), np.diff(at).tolist(), strict=True):
        if n:
            out[f"{a:g}-{b:g}" if math.isfinite(b) else f"{a:g}+"] = int(n)
    return out


def _round_edge(value: float) -> float:
    """The nearest 1/2.5/5 x 10^k at or below `value`."""
    power = 10 ** math.floor(math.log10(value))
    return max(step * power for step in PRICE_STEPS if step * power <= value)
