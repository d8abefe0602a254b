"""Optional LLM backend: any OpenAI-compatible chat-completions server with tool calling -> `Turn`.

The model is asked to call one tool, `update_query`, whose JSON schema is below. Its arguments are
validated with pydantic (unknown keys, wrong types and oversized lists are refused) and then resolved
against the catalog vocabulary, so the model can only choose among values the catalog has. Catalog and
user text is fenced (`fence.py`). Any failure (timeout, connection error, HTTP error, no tool call,
invalid arguments) falls back to the built-in parser, and the turn says so in its notes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodboard.assistant.fence import SYSTEM_RULES, fence, sanitise
from moodboard.assistant.parser import Parser
from moodboard.assistant.planner import MAX_SECTIONS, goal_topic
from moodboard.core.query import Filters, PriceChange, QueryState, Reference, Scope, Section, Term, TermKind, Turn

log = logging.getLogger("moodboard.assistant.llm")

_STR_LIST = {"type": "array", "items": {"type": "string", "maxLength": 60}, "maxItems": 12}
_INT_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 100}, "maxItems": 12}
TOOL_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "update_query",
        "description": "Update the shopping query from the shopper's latest message.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "reset": {"type": "boolean", "description": "the shopper wants to start over"},
                "include_text": {**_STR_LIST, "description": "style/material words to look for"},
                "exclude_text": {**_STR_LIST, "description": "words to avoid"},
                "colours": _STR_LIST,
                "exclude_colours": _STR_LIST,
                "categories": {**_STR_LIST, "description": "catalog category names, as the shopper said them"},
                "category_mode": {"type": "string", "enum": ["only", "also", "not"]},
                "price_min": {"type": "number", "minimum": 0},
                "price_max": {"type": "number", "minimum": 0},
                "price_relative": {"type": "string", "enum": ["cheaper", "pricier", "below_that", "any"]},
                "audience": {"type": "string", "description": "who it is for, e.g. women, men, kids"},
                "more_like": {**_INT_LIST, "description": "1-based positions of shown results"},
                "less_like": _INT_LIST,
                "none_of_these": {"type": "boolean"},
                "goal": {"type": "string", "maxLength": 120, "description": "a broad goal, e.g. 'redo my kitchen'"},
                "section": {"type": "string", "maxLength": 60, "description": "section the message refines"},
                "sections": {
                    **_STR_LIST,
                    "description": "with a goal: 2-6 catalog category names that together serve it, one per section",
                },
                "unknown": _STR_LIST,
            },
        },
    },
}


class ToolArgs(BaseModel):
    """Validated arguments of `update_query`."""

    model_config = ConfigDict(extra="forbid")

    reset: bool = False
    include_text: list[str] = Field(default_factory=list, max_length=12)
    exclude_text: list[str] = Field(default_factory=list, max_length=12)
    colours: list[str] = Field(default_factory=list, max_length=12)
    exclude_colours: list[str] = Field(default_factory=list, max_length=12)
    categories: list[str] = Field(default_factory=list, max_length=12)
    category_mode: Literal["only", "also", "not"] = "only"
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    price_relative: Literal["cheaper", "pricier", "below_that", "any"] | None = None
    audience: str | None = Field(None, max_length=30)
    more_like: list[int] = Field(default_factory=list, max_length=12)
    less_like: list[int] = Field(default_factory=list, max_length=12)
    none_of_these: bool = False
    goal: str | None = Field(None, max_length=120)
    section: str | None = Field(None, max_length=60)
    sections: list[str] = Field(default_factory=list, max_length=12)
    unknown: list[str] = Field(default_factory=list, max_length=12)


class LLMParser:
    """Parses messages with an OpenAI-compatible server; falls back to the built-in parser."""

    def __init__(
        self,
        base_url: str,
        model: str,
        fallback: Parser,
        *,
        api_key: str = "",
        timeout_s: float = 8.0,
        client: httpx.Client | None = None,
    ) -> None:
        """Point at `<base_url>/chat/completions`; `fallback` answers when the server cannot."""
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(timeout=timeout_s)

    def parse(self, message: str, state: QueryState | None = None) -> Turn:
        """Ask the model for one `update_query` call; on any failure use the built-in parser."""
        state = state or QueryState()
        try:
            args = self._call(message, state)
        except httpx.TimeoutException:
            return self._fallback(message, state, "the language model timed out; used the built-in parser")
        except (httpx.HTTPError, ValueError, KeyError, TypeError, ValidationError) as exc:
            log.warning("LLM parse failed: %s", exc)
            return self._fallback(message, state, "the language model gave no usable answer; used the built-in parser")
        turn = self.to_turn(args, message, state)
        if turn.is_noop():
            # small models often call the tool with no arguments: keep what the built-in parser understood
            builtin = self.fallback.parse(message, state)
            if not builtin.is_noop():
                return builtin.model_copy(
                    update={"notes": (*builtin.notes, "the language model changed nothing; used the built-in parser")}
                )
        return turn

    def _fallback(self, message: str, state: QueryState, note: str) -> Turn:
        turn = self.fallback.parse(message, state)
        return turn.model_copy(update={"notes": (*turn.notes, note)})

    def messages(self, message: str, state: QueryState) -> list[dict[str, str]]:
        """The chat messages sent for one turn (system rules, fenced context, fenced user text)."""
        vocab = self.fallback.vocab
        cats = sorted({m.value for ms in vocab.phrases.values() for m in ms if m.field == "category"})[:120]
        context = [
            fence("catalog categories", cats, 60),
            fence("catalog colours", sorted({c for cs in vocab.colours.values() for c in cs}), 40),
            fence("sections", [s.name for s in state.sections], 60),
            fence("results on screen, in order", [str(s.pin_id) for s in state.shown[:24]], 20),
        ]
        return [
            {"role": "system", "content": SYSTEM_RULES + "\n" + "\n".join(context)},
            {"role": "user", "content": fence("shopper message", [sanitise(message, 2000)], 2000)},
        ]

    def _call(self, message: str, state: QueryState) -> ToolArgs:
        body = {
            "model": self.model,
            "messages": self.messages(message, state),
            "tools": [TOOL_SCHEMA],
            "tool_choice": {"type": "function", "function": {"name": "update_query"}},
            "temperature": 0,
        }
        resp = self.client.post(self.url, json=body, headers=self.headers, timeout=self.timeout_s)
        resp.raise_for_status()
        data = resp.json()
        calls = data["choices"][0]["message"].get("tool_calls") or []
        call = next((c for c in calls if c["function"]["name"] == "update_query"), None)
        if call is None:
            raise ValueError("the model answered without calling update_query")
        raw = call["function"]["arguments"]
        parsed = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(parsed, dict):
            raise ValueError("tool arguments are not an object")
        return ToolArgs.model_validate(parsed)

    def _sections(self, goal: str, names: list[str], unknown: list[str]) -> tuple[Section, ...]:
        """The model's proposed sections that name a category of this catalog (at least two, else none:
        the planner then plans the goal on the catalog itself)."""
        vocab = self.fallback.vocab
        topic = (Term(kind=TermKind.TEXT, value=goal_topic(goal)),)
        out: dict[str, Section] = {}
        for name in names:
            cats = [m for m in vocab.best(name) if m.field == "category"]
            if not cats:
                unknown.append(sanitise(name, 30))
                continue
            value = cats[0].value
            label = vocab.label("category", value)[:120]
            out.setdefault(value, Section(name=label, positives=topic, filters=Filters(categories=(value,))))
        sections = tuple(out.values())[:MAX_SECTIONS]
        return sections if len(sections) >= 2 else ()

    def to_turn(self, args: ToolArgs, message: str, state: QueryState) -> Turn:
        """Resolve validated tool arguments against the catalog vocabulary into a `Turn`."""
        vocab = self.fallback.vocab
        unknown = [sanitise(u, 30) for u in args.unknown]
        colours: list[str] = []
        for c in args.colours:
            found = vocab.colour(c)
            colours += found or []
            if not found:
                unknown.append(sanitise(c, 30))
        excluded = [v for c in args.exclude_colours for v in vocab.colour(c)]
        cats: list[str] = []
        attrs: dict[str, list[str]] = {}
        for c in args.categories:
            matches = vocab.best(c)
            if not matches:
                unknown.append(sanitise(c, 30))
            for m in matches:
                (cats if m.field == "category" else attrs.setdefault(m.field, [])).append(m.value)
        if args.audience:  # validated against the catalog's audience field, like any other value
            audience = self.fallback._audience(sanitise(args.audience, 30).lower())
            if audience is not None:
                attrs.setdefault(audience[0], []).extend(audience[1])
        scopes: tuple[Scope, ...] = ()
        if cats or attrs:
            replace = tuple(sorted(vocab.taxonomy_fields)) if args.category_mode == "only" else ()
            scopes = (
                Scope(
                    mode=args.category_mode,
                    categories=tuple(cats),
                    attributes={k: tuple(v) for k, v in attrs.items()},
                    replace=replace,
                ),
            )
        price = None
        if args.price_min is not None or args.price_max is not None or args.price_relative:
            price = PriceChange(min=args.price_min, max=args.price_max, relative=args.price_relative)
        refs = [Reference(position=p, weight=2.0) for p in args.more_like]
        refs += [Reference(position=p, polarity=-1) for p in args.less_like]
        goal = sanitise(args.goal, 120) or None if args.goal else None  # the planner validates it on the catalog
        plan = self._sections(goal, args.sections, unknown) if goal else ()
        section = args.section if args.section in {s.name for s in state.sections} else None
        pos = [w for w in (sanitise(t, 60) for t in args.include_text) if w]
        return Turn(
            text=message,
            reset=args.reset,
            add_positives=(Term(kind=TermKind.TEXT, value=" ".join(pos)),) if pos else (),
            add_negatives=tuple(
                Term(kind=TermKind.TEXT, value=sanitise(t, 60)) for t in args.exclude_text if t.strip()
            ),
            colours=tuple(dict.fromkeys(colours)),
            exclude_colours=tuple(dict.fromkeys(excluded)),
            price=price,
            scopes=scopes,
            references=tuple(refs),
            none_of_these=args.none_of_these,
            goal=goal,
            plan=plan,
            section=section,
            unknown=tuple(dict.fromkeys(u for u in unknown if u)),
            source="llm",
        )
