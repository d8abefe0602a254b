"""Structured values inside catalog text fields: JSON lists and key/value specification lists.

Real feeds pack structure into one column: a category path as a JSON list (`["A >> B >> C"]`), or a
product's specifications as a list of `{key, value}` pairs, sometimes in a Ruby-hash spelling
(`{"spec"=>[{"key"=>"Color", "value"=>"Red"}]}`). `expand_row` unpacks both generically, so a field
mapping can name an inner key (`color=Color`) and the catalog profile sees clean values. Nothing here
knows any one catalog's fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

_RUBY_ARROW = re.compile(r'"\s*=>\s*')
MAX_PAIRS = 200
"""Most key/value pairs taken from one field (a hostile row cannot blow up the attributes)."""


def parse_structured(text: str) -> Any | None:
    """The JSON value a string spells (JSON, or a Ruby-style hash with `=>`), or None when it is plain text."""
    s = text.strip()
    if len(s) < 2 or s[0] not in "[{" or s[-1] not in "]}":
        return None
    for candidate in (s, _RUBY_ARROW.sub('": ', s)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _pairs(value: Any) -> list[tuple[str, str]]:
    """Key/value pairs found in a parsed value: `[{key, value}, ...]`, possibly under one wrapping key."""
    if isinstance(value, dict):
        if len(value) == 1:
            (inner,) = value.values()
            if isinstance(inner, list):
                return _pairs(inner)
        return []
    if not isinstance(value, list):
        return []
    out: list[tuple[str, str]] = []
    for item in value[:MAX_PAIRS]:
        if isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("value"), str | int):
            out.append((item["key"].strip(), str(item["value"]).strip()))
    return out


def expand_row(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` with structured string fields unpacked.

    A JSON list holding one string becomes that string; a key/value specification list adds its pairs as
    fields of their own (never overriding a field the row already has) and is dropped itself.
    """
    out = dict(raw)
    for name, value in raw.items():
        if not isinstance(value, str):
            continue
        parsed = parse_structured(value)
        if parsed is None:
            continue
        if isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], str):
            out[name] = parsed[0]
            continue
        pairs = _pairs(parsed)
        if pairs:
            del out[name]
            for key, val in pairs:
                if key and val and key not in out:
                    out[key] = val
    return out
