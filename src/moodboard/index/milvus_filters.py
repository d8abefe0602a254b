"""How the `milvus` backend stores multi-valued filter attributes and compiles a `Filters` into an expression.

Every field the embedded backends filter on is stored with all its values, so the two agree on every
filter (`tests/index/test_contract.py` holds both to it):

- `category`, `color`, `availability`, `merchant`: one `ARRAY<VARCHAR>` column each, holding every value
  of the item in order (every level of a category path, every colour).
- every other attribute field (the catalog profile's): one `ARRAY<VARCHAR>` column `extra` holding one
  token per (field, value), the JSON pair `["material","wood"]`, so new fields need no schema change.
- `price` (FLOAT) with `has_price` (BOOL): an item without a price fails every price bound.

An include passes when any value matches (`array_contains_any`), an exclude fails when any does (`not
array_contains_any`), values compared after the same normalisation as `ItemAttrs.values()`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from moodboard.core.errors import InvalidInputError
from moodboard.core.query import Filters
from moodboard.index.attributes import CODE_FIELDS, ItemAttrs

EXTRA = "extra"
"""The column holding the other attribute fields' (field, value) tokens."""
VALUE_CHARS = 512
"""A stored value keeps its first VALUE_CHARS characters (query values are cut the same way)."""
ELEMENT_CHARS = 1024
"""max_length of an array element (a token carries its field name too)."""
MAX_VALUES = 256
"""max_capacity of a base field's array: values of one field per item."""
MAX_TOKENS = 1024
"""max_capacity of the `extra` array: (field, value) pairs per item."""
SCHEMA_VERSION = "2"
"""Collection property `moodboard.schema`: 2 = multi-valued arrays (1 held one value per base field)."""


def _norm(value: object) -> str:
    return str(value).strip().lower()[:VALUE_CHARS]


def token(name: str, value: str) -> str:
    """The `extra` element of one (field, value) pair; compact JSON, so any field name or value round-trips."""
    return json.dumps([name, value], separators=(",", ":"), ensure_ascii=False)


def untoken(element: str) -> tuple[str, str]:
    """The (field, value) pair of an `extra` element."""
    name, value = json.loads(element)
    return str(name), str(value)


def row_columns(attrs: ItemAttrs) -> tuple[dict[str, list[str]], set[str]]:
    """An item's array columns and the names of its other attribute fields.

    Raises:
        InvalidInputError: more values than a column holds, or a field name too long for a token.
    """
    out: dict[str, list[str]] = {name: [] for name in (*CODE_FIELDS, EXTRA)}
    names: set[str] = set()
    for name, values in attrs.values().items():
        cut = list(dict.fromkeys(v[:VALUE_CHARS] for v in values))
        if name in CODE_FIELDS:
            out[name] = cut
            continue
        names.add(name)
        out[EXTRA] += [token(name, v) for v in cut]
    for name in CODE_FIELDS:
        if len(out[name]) > MAX_VALUES:
            raise InvalidInputError(
                f"an item has {len(out[name])} values of {name!r}; the milvus backend holds at most {MAX_VALUES}",
                "keep fewer values per item (the catalog profile splits fields into values)",
            )
    if len(out[EXTRA]) > MAX_TOKENS:
        raise InvalidInputError(
            f"an item has {len(out[EXTRA])} attribute values; the milvus backend holds at most {MAX_TOKENS}",
            "keep fewer attribute fields or values per item",
        )
    too_long = [t for t in out[EXTRA] if len(t) > ELEMENT_CHARS]
    if too_long:
        raise InvalidInputError(
            f"the attribute field {untoken(too_long[0])[0][:80]!r} has too long a name for the milvus backend",
            f"keep attribute field names under {ELEMENT_CHARS - VALUE_CHARS - 8} characters",
        )
    return out, names


def field_values(row: Mapping[str, Any], name: str) -> list[str]:
    """Every value of field `name` in a row read back from the collection, in stored order."""
    if name in CODE_FIELDS:
        return [str(v) for v in (row.get(name) or [])]
    pairs = (untoken(str(t)) for t in (row.get(EXTRA) or []))
    return [v for n, v in pairs if n == name]


def check_fields(names: Iterable[str], known: set[str]) -> None:
    """Refuse a field the index holds no column for, as the embedded backends do.

    Raises:
        InvalidInputError: naming the first unknown field and the ones it could use.
    """
    for name in names:
        if name not in known:
            held = [*CODE_FIELDS, *sorted(known - set(CODE_FIELDS))]
            raise InvalidInputError(
                f"unknown filter field {name!r}", f"filter on one of {', '.join(held)}", field="filters"
            )


def _contains_any(name: str, values: Sequence[str]) -> str:
    vals = list(dict.fromkeys(_norm(v) for v in values))
    column, elements = (name, vals) if name in CODE_FIELDS else (EXTRA, [token(name, v) for v in vals])
    return f"array_contains_any({column}, {json.dumps(elements)})"


def filter_expression(flt: Filters | None, known: set[str]) -> str:
    """The Milvus boolean expression of a structured filter ("" = no constraint).

    Raises:
        InvalidInputError: a filter on a field this index holds no values of (`known`).
    """
    if flt is None or flt.is_empty():
        return ""
    includes, excludes = flt.includes(), flt.excludes()
    check_fields([*includes, *excludes], known)
    terms = []
    if flt.price_min is not None:
        terms.append(f"(has_price == true and price >= {float(flt.price_min)!r})")
    if flt.price_max is not None:
        terms.append(f"(has_price == true and price <= {float(flt.price_max)!r})")
    terms += [_contains_any(name, values) for name, values in includes.items()]
    terms += [f"(not {_contains_any(name, values)})" for name, values in excludes.items()]
    return " and ".join(terms)
