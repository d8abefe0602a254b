"""Conversation query records: weighted terms, structured filters, sections, turns and the query state.

A `QueryState` is what a conversation has asked for so far; a `Turn` is what one message changes.
`moodboard.assistant.refine.refine(state, turn)` folds a turn into a state. Both records are frozen
pydantic models, so they validate what is loaded and round-trip through JSON:

    >>> s = QueryState(positives=(Term(kind="text", value="linen shirt"),))
    >>> QueryState.from_json(s.to_json()) == s
    True
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodboard.core.errors import InvalidInputError


class TermKind(enum.StrEnum):
    """What a query term points at."""

    TEXT = "text"
    PIN = "pin"
    IMAGE = "image"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Term(_Frozen):
    """One weighted query term: free text, a catalog pin id, or an uploaded image (by content hash)."""

    kind: TermKind
    value: str | int
    weight: float = Field(1.0, gt=0, le=10)

    def key(self) -> tuple[str, str]:
        """Identity of the term regardless of its weight."""
        return (self.kind.value, str(self.value).lower())


class Filters(_Frozen):
    """Structured constraints, the one filter type of moodboard; empty tuples and `None` mean "no constraint".

    `categories` / `colours` match `Pin.category` / `Pin.color`; `attributes` maps any other field the
    index holds (an attribute name, `merchant`, `availability`) to the values allowed, and the
    `exclude_*` fields to the values refused. A field with several values per item (colours {white,
    black}; every level of a category path) passes an include when any value matches and fails an
    exclude when any does. Values are compared case-insensitively. The index compiles this record into
    column masks (`moodboard.index.attributes.AttributeTable.mask`).
    """

    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    colours: tuple[str, ...] = ()
    exclude_colours: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    attributes: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    exclude_attributes: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def is_empty(self) -> bool:
        """True when no constraint is set."""
        return self == Filters()

    def includes(self) -> dict[str, tuple[str, ...]]:
        """Allowed values per field, for every constrained field."""
        out = {k: v for k, v in self.attributes.items() if v}
        if self.categories:
            out["category"] = self.categories
        if self.colours:
            out["color"] = self.colours
        return out

    def excludes(self) -> dict[str, tuple[str, ...]]:
        """Refused values per field, for every field with refusals."""
        out = {k: v for k, v in self.exclude_attributes.items() if v}
        if self.exclude_categories:
            out["category"] = self.exclude_categories
        if self.exclude_colours:
            out["color"] = self.exclude_colours
        return out


PRICE_FIELDS = ("price_min", "price_max")


class FilterEdit(_Frozen):
    """A structured change of the conversation's filters (a client's filter form, not words).

    Each field named in `fields` takes its constraint (include and exclude) from `set`; each field in
    `clear` loses its constraint. A field is `price_min`, `price_max`, `price` (both bounds; only in
    `clear`), `category`, `color`, or any other attribute name (`merchant`, `availability`, `material`, ...).
    """

    set: Filters = Field(default_factory=Filters)
    fields: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()

    def apply(self, f: Filters) -> Filters:
        """`f` with this edit applied (a bound that now contradicts the other is dropped)."""
        data = f.model_dump()
        for name in (*self.clear, *self.fields):
            for key in _filter_keys(name):
                data[key] = None if key in PRICE_FIELDS else ()
            data["attributes"].pop(name, None)
            data["exclude_attributes"].pop(name, None)
        new = self.set
        for name in self.fields:
            if name in PRICE_FIELDS:
                data[name] = getattr(new, name)
            elif name == "category":
                data["categories"], data["exclude_categories"] = new.categories, new.exclude_categories
            elif name == "color":
                data["colours"], data["exclude_colours"] = new.colours, new.exclude_colours
            else:
                if new.attributes.get(name):
                    data["attributes"][name] = new.attributes[name]
                if new.exclude_attributes.get(name):
                    data["exclude_attributes"][name] = new.exclude_attributes[name]
        lo, hi = data["price_min"], data["price_max"]
        if lo is not None and hi is not None and lo > hi:
            data["price_min" if "price_max" in self.fields else "price_max"] = None
        return Filters.model_validate(data)


def _filter_keys(name: str) -> tuple[str, ...]:
    """The `Filters` keys that hold field `name`'s constraint (none for an attribute field)."""
    return {
        "price": PRICE_FIELDS,
        "price_min": ("price_min",),
        "price_max": ("price_max",),
        "category": ("categories", "exclude_categories"),
        "color": ("colours", "exclude_colours"),
    }.get(name, ())


class Shown(_Frozen):
    """One result shown to the user, in display order, so later turns can refer to it."""

    pin_id: int
    price: float | None = None
    section: str | None = None


class Section(_Frozen):
    """One part of a goal cascade ("lamps" of "redo my study") with its own query."""

    name: str = Field(min_length=1, max_length=120)
    positives: tuple[Term, ...] = ()
    negatives: tuple[Term, ...] = ()
    filters: Filters = Field(default_factory=Filters)


class QueryState(_Frozen):
    """Everything a conversation has asked for so far; serialisable, replayable, never mutated."""

    positives: tuple[Term, ...] = ()
    negatives: tuple[Term, ...] = ()
    filters: Filters = Field(default_factory=Filters)
    goal: str | None = None
    sections: tuple[Section, ...] = ()
    shown: tuple[Shown, ...] = ()
    focus: int | None = Field(None, description="pin id the last turn pointed at ('this')")
    version: int = Field(0, ge=0, description="number of turns folded in")

    def is_empty(self) -> bool:
        """True when the state asks for nothing (a fresh or reset conversation)."""
        return (
            not self.positives
            and not self.negatives
            and self.filters.is_empty()
            and self.goal is None
            and not self.sections
        )

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return self.model_dump_json()

    def to_dict(self) -> dict[str, Any]:
        """Serialise to plain JSON-compatible Python objects."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, text: str | bytes) -> QueryState:
        """Load a state from JSON, validating every field.

        Raises:
            InvalidInputError: when the JSON does not describe a valid state.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise InvalidInputError(
                f"stored query state is invalid: {exc.errors()[0]['msg']}", "start a new session"
            ) from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryState:
        """Load a state from plain Python objects (as produced by `to_dict`)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInputError(f"query state is invalid: {exc.errors()[0]['msg']}", "start a new session") from exc


class Reference(_Frozen):
    """A pointer to a shown result: 1-based `position` (from the end if `from_end`), or `None` for "this"."""

    position: int | None = Field(None, ge=1, le=1000)
    from_end: bool = False
    polarity: Literal[1, -1] = 1
    weight: float = Field(1.0, gt=0, le=10)


class Scope(_Frozen):
    """A change of what kinds of things to show: only these, these too, or not these."""

    mode: Literal["only", "also", "not"]
    replace: tuple[str, ...] = Field((), description="fields whose includes an 'only' scope clears first")
    attributes: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    categories: tuple[str, ...] = ()


class PriceChange(_Frozen):
    """A price constraint: absolute bounds, or relative to what was shown ("cheaper")."""

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    relative: Literal["cheaper", "pricier", "below_that", "any"] | None = None


class Turn(_Frozen):
    """What one message asks to change. Produced by the built-in parser or an LLM backend."""

    text: str = ""
    reset: bool = False
    add_positives: tuple[Term, ...] = ()
    add_negatives: tuple[Term, ...] = ()
    colours: tuple[str, ...] = ()
    exclude_colours: tuple[str, ...] = ()
    price: PriceChange | None = None
    scopes: tuple[Scope, ...] = ()
    references: tuple[Reference, ...] = ()
    none_of_these: bool = False
    goal: str | None = None
    plan: tuple[Section, ...] = ()
    section: str | None = Field(None, description="name of the section this turn refines, if any")
    replace_subject: bool = Field(
        False, description="'X instead': earlier words about what was sought go; the new scope replaces them"
    )
    filter_edit: FilterEdit | None = Field(None, description="a structured filter change sent with the message")
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: Literal["builtin", "llm"] = "builtin"

    def is_noop(self) -> bool:
        """True when the turn changes nothing (e.g. only unknown words)."""
        return self.model_copy(update={"text": "", "unknown": (), "notes": (), "source": "builtin"}) == Turn()

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Turn:
        """Load a turn from JSON, validating every field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise InvalidInputError(f"turn is invalid: {exc.errors()[0]['msg']}", "fix the turn") from exc
