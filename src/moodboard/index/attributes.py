"""Per-item filter attributes as compact columns, structured filters over them, and facet counts.

Columns cost about 17 bytes per item (price float32, four int32 codes, one uint8 availability code),
so filtering a million items is a handful of vectorised comparisons, not a Python loop.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from moodboard.core.errors import InvalidInputError, SnapshotError
from moodboard.core.records import Availability, Pin

BoolArray = NDArray[np.bool_]

CODE_FIELDS: tuple[str, ...] = ("category", "color", "availability", "merchant")
FACET_FIELDS: tuple[str, ...] = (*CODE_FIELDS, "price")
FILTER_FIELDS: tuple[str, ...] = ("price_min", "price_max", *CODE_FIELDS)
PRICE_BUCKETS: tuple[float, ...] = (25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)


def _norm(value: Any) -> str:
    return str(value).strip().lower()


@dataclass(frozen=True, slots=True)
class ItemAttrs:
    """Filterable attributes of one item; strings are matched case-insensitively."""

    price: float | None = None
    category: str | None = None
    color: str | None = None
    availability: str | None = None
    merchant: str | None = None

    @classmethod
    def from_pin(cls, pin: Pin) -> ItemAttrs:
        """Take the filterable attributes of a catalog pin."""
        price = pin.product.price
        return cls(
            price=float(price) if price is not None else None,
            category=pin.category,
            color=pin.color,
            availability=pin.product.availability.value,
            merchant=pin.product.merchant,
        )


@dataclass(frozen=True, slots=True)
class Filter:
    """Structured filter: a price range and allowed values per field (empty tuple = no constraint)."""

    price_min: float | None = None
    price_max: float | None = None
    category: tuple[str, ...] = ()
    color: tuple[str, ...] = ()
    availability: tuple[str, ...] = ()
    merchant: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the filter constrains nothing."""
        return self.price_min is None and self.price_max is None and not any(self.values(f) for f in CODE_FIELDS)

    def values(self, name: str) -> tuple[str, ...]:
        """Allowed values of a code field."""
        result: tuple[str, ...] = getattr(self, name)
        return result

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | Filter | None) -> Filter:
        """Build a filter from a JSON-like mapping, refusing unknown fields and bad values.

        Example: `Filter.parse({"price_max": 50, "color": ["red", "blue"]})`.

        Raises:
            InvalidInputError: on an unknown field, a non-numeric or negative price, or min > max.
        """
        if raw is None:
            return cls()
        if isinstance(raw, Filter):
            return raw
        unknown = sorted(set(raw) - set(FILTER_FIELDS))
        if unknown:
            raise InvalidInputError(
                f"unknown filter field {unknown[0]!r}",
                f"use only {', '.join(FILTER_FIELDS)}",
                field=f"filters.{unknown[0]}",
            )
        prices: dict[str, float | None] = {}
        for name in ("price_min", "price_max"):
            value = raw.get(name)
            if value is None:
                prices[name] = None
                continue
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"filter {name} must be a number, got {value!r}",
                    "pass e.g. 49.90",
                    field=f"filters.{name}",
                ) from exc
            if not math.isfinite(number) or number < 0:
                raise InvalidInputError(
                    f"filter {name} must be a finite non-negative number",
                    "pass e.g. 49.90",
                    field=f"filters.{name}",
                )
            prices[name] = number
        lo, hi = prices["price_min"], prices["price_max"]
        if lo is not None and hi is not None and lo > hi:
            raise InvalidInputError("filter price_min is above price_max", "swap them", field="filters.price_min")
        codes: dict[str, tuple[str, ...]] = {}
        for name in CODE_FIELDS:
            value = raw.get(name)
            if value is None:
                codes[name] = ()
            elif isinstance(value, str):
                codes[name] = (_norm(value),)
            elif isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
                codes[name] = tuple(_norm(v) for v in value)
            else:
                raise InvalidInputError(
                    f"filter {name} must be a string or a list of strings",
                    f'pass e.g. {{"{name}": ["a", "b"]}}',
                    field=f"filters.{name}",
                )
        if codes["availability"]:
            known = {a.value for a in Availability}
            bad = [v for v in codes["availability"] if v not in known]
            if bad:
                raise InvalidInputError(
                    f"unknown availability {bad[0]!r}",
                    f"use one of {', '.join(sorted(known))}",
                    field="filters.availability",
                )
        return cls(price_min=lo, price_max=hi, **codes)

    def to_dict(self) -> dict[str, Any]:
        """The filter as a JSON-friendly mapping, omitting unconstrained fields."""
        out: dict[str, Any] = {}
        if self.price_min is not None:
            out["price_min"] = self.price_min
        if self.price_max is not None:
            out["price_max"] = self.price_max
        for name in CODE_FIELDS:
            if self.values(name):
                out[name] = list(self.values(name))
        return out


class AttributeTable:
    """Columnar attributes indexed by slot, with a vocabulary per string field (code 0 = missing)."""

    def __init__(self) -> None:
        """Create an empty table."""
        self.price = np.zeros(0, dtype=np.float32)
        self.codes: dict[str, NDArray[np.int32]] = {f: np.zeros(0, dtype=np.int32) for f in CODE_FIELDS}
        self.vocab: dict[str, list[str]] = {f: [""] for f in CODE_FIELDS}
        self._lookup: dict[str, dict[str, int]] = {f: {} for f in CODE_FIELDS}

    def __len__(self) -> int:
        """Number of slots."""
        return int(self.price.shape[0])

    def _code(self, name: str, value: str | None) -> int:
        if value is None or not str(value).strip():
            return 0
        key = _norm(value)
        lookup = self._lookup[name]
        code = lookup.get(key)
        if code is None:
            code = len(self.vocab[name])
            self.vocab[name].append(key)
            lookup[key] = code
        return code

    def append(self, attrs: Sequence[ItemAttrs]) -> None:
        """Append one row per item, in slot order."""
        price = np.array([a.price if a.price is not None else np.nan for a in attrs], dtype=np.float32).reshape(-1)
        self.price = np.concatenate([self.price, price])
        for name in CODE_FIELDS:
            col = np.array([self._code(name, getattr(a, name)) for a in attrs], dtype=np.int32).reshape(-1)
            self.codes[name] = np.concatenate([self.codes[name], col])

    def take(self, slots: NDArray[np.int64]) -> AttributeTable:
        """A new table holding only `slots`, in that order (used when compacting)."""
        out = AttributeTable()
        out.price = self.price[slots]
        out.codes = {f: self.codes[f][slots] for f in CODE_FIELDS}
        out.vocab = {f: list(v) for f, v in self.vocab.items()}
        out._lookup = {f: {v: i for i, v in enumerate(vs) if i} for f, vs in out.vocab.items()}
        return out

    def mask(self, flt: Filter) -> BoolArray:
        """Boolean mask over slots of the rows that pass `flt`."""
        keep = np.ones(len(self), dtype=bool)
        if flt.price_min is not None:
            keep &= self.price >= flt.price_min  # NaN (no price) fails any price bound
        if flt.price_max is not None:
            keep &= self.price <= flt.price_max
        for name in CODE_FIELDS:
            wanted = flt.values(name)
            if not wanted:
                continue
            codes = [self._lookup[name][v] for v in wanted if v in self._lookup[name]]
            keep &= np.isin(self.codes[name], np.array(codes, dtype=np.int32))
        return keep

    def counts(self, slots: NDArray[np.int64], fields: Sequence[str] = FACET_FIELDS) -> dict[str, dict[str, int]]:
        """Facet counts of the given slots (the retrieved, filtered set), most frequent value first.

        Raises:
            InvalidInputError: on an unknown facet field.
        """
        out: dict[str, dict[str, int]] = {}
        for name in fields:
            if name == "price":
                out[name] = self._price_buckets(self.price[slots])
                continue
            if name not in CODE_FIELDS:
                raise InvalidInputError(
                    f"unknown facet field {name!r}", f"use {', '.join(FACET_FIELDS)}", field="facets"
                )
            values = self.codes[name][slots]
            values = values[values > 0]
            bins = np.bincount(values, minlength=len(self.vocab[name]))
            order = np.argsort(-bins, kind="stable")
            out[name] = {self.vocab[name][i]: int(bins[i]) for i in order if bins[i] > 0}
        return out

    @staticmethod
    def _price_buckets(prices: NDArray[np.float32]) -> dict[str, int]:
        prices = prices[np.isfinite(prices)]
        edges = (0.0, *PRICE_BUCKETS, math.inf)
        out: dict[str, int] = {}
        for lo, hi in itertools.pairwise(edges):
            n = int(((prices >= lo) & (prices < hi)).sum())
            if n:
                out[f"{lo:g}-{hi:g}" if math.isfinite(hi) else f"{lo:g}+"] = n
        return out

    def save(self, folder: Path) -> None:
        """Write the columns and vocabularies into `folder`."""
        np.savez(folder / "attributes.npz", price=self.price, **self.codes)  # type: ignore[arg-type]
        (folder / "attribute_vocab.json").write_text(json.dumps(self.vocab))

    @classmethod
    def load(cls, folder: Path) -> AttributeTable:
        """Read a table written by `save`."""
        try:
            with np.load(folder / "attributes.npz") as data:
                table = cls()
                table.price = data["price"].astype(np.float32)
                table.codes = {f: data[f].astype(np.int32) for f in CODE_FIELDS}
            table.vocab = json.loads((folder / "attribute_vocab.json").read_text())
        except (OSError, KeyError, ValueError) as exc:
            raise SnapshotError(f"cannot read attributes in {folder}: {exc}", "rebuild the index") from exc
        table._lookup = {f: {v: i for i, v in enumerate(vs) if i} for f, vs in table.vocab.items()}
        return table
