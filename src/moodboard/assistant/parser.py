"""The built-in intent parser: one chat message -> one `Turn`, with no LLM and no I/O.

It reads, in order: a reset ("start over"), a goal (handed to the planner), a section target ("the
lamps, but brass"), price ("under $200", "between 50 and 100", "cheaper", "less than that"),
references to shown results ("the third one", "more like this", "less like #2", "none of these"), then
a left-to-right word scan for colours (with negation: "not white", "no black"), catalog categories and
attribute values (with scope cues: "only lamps", "also show rugs", "no vases"), audience, materials and
style words. Whatever is left and known becomes soft text; unknown words are reported, never fatal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from moodboard.assistant.planner import goal_phrase
from moodboard.assistant.vocabulary import (
    AUDIENCE_WORDS,
    STOPWORDS,
    Match,
    Vocabulary,
    normalise,
    phrase_key,
    singular,
)
from moodboard.core.query import PriceChange, QueryState, Reference, Scope, Term, TermKind, Turn
from moodboard.index.profile import PATH_SEP

_NUM = r"(\d{1,7}(?:\.\d{1,2})?)\s*k?"
_CUR = r"(?:[$€£₹]|usd|eur|rs\.?|inr)?\s*"
_UNIT = r"\s*(?:dollars?|bucks|usd|euros?|rupees?|rs)?"
PRICE_RANGE = re.compile(rf"\b(?:between|from)\s+{_CUR}{_NUM}{_UNIT}\s*(?:and|to|-)\s*{_CUR}{_NUM}{_UNIT}")
PRICE_DASH = re.compile(rf"{_CUR}{_NUM}\s*(?:-|to)\s*[$€£₹]\s*{_NUM}")
PRICE_MAX = re.compile(
    rf"(?:under|below|less than|cheaper than|max(?:imum)?|up to|upto|at most|no more than|within|"
    rf"not more than|<=?)\s*(?:of\s+)?{_CUR}{_NUM}{_UNIT}"
)
PRICE_MIN = re.compile(rf"(?:over|above|more than|at least|min(?:imum)?|starting at|>=?)\s*{_CUR}{_NUM}{_UNIT}")
PRICE_AROUND = re.compile(rf"(?:around|about|roughly|approximately|~)\s*{_CUR}{_NUM}{_UNIT}")
PRICE_THAT = re.compile(r"\b(?:less than that|cheaper than that|below that|under that|lower than that)\b")
PRICE_ANY = re.compile(
    r"\b(?:any price|at any price|no price limit|whatever (?:the )?price|price doesn'?t matter|"
    r"(?:remove|clear|drop|forget|ignore) (?:the )?(?:price|budget)(?: filter| limit| cap)?)\b"
)
PRICE_CHEAPER = re.compile(r"\b(?:cheaper|less expensive|lower price[sd]?|more affordable|on a budget)\b")
PRICE_PRICIER = re.compile(r"\b(?:pricier|more expensive|higher end|more premium|fancier)\b")

ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
    "6th": 6, "7th": 7, "8th": 8, "9th": 9, "10th": 10, "last": -1,
}  # fmt: skip
_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
REF_ORDINAL = re.compile(rf"\b(?:the\s+)?({_ORD})(?:\s+(?:one|item|result|pick|option|pin))?\b")
REF_NUMBER = re.compile(r"(?:#\s*|\bnumber\s+|\bno\.\s*|\bitem\s+|\bresult\s+)(\d{1,3})\b")
REF_THIS = re.compile(r"\b(more|less|fewer|not|nothing)?\s*(?:like|similar to)\s+(this|that|it)(?:\s+one)?\b")
NEG_REF_CUE = re.compile(r"(?:less|fewer|not|nothing|no more|don'?t|dont|hate|unlike|hide|remove|drop)\b[^.,;]*$")
NONE_OF_THESE = re.compile(
    r"\b(?:none of (?:these|them|those|this)|not (?:these|those|any of (?:these|them))|"
    r"something (?:else|different)|different ones|show me others|i don'?t like any|nothing like (?:these|this))\b"
)
INSTEAD = re.compile(r"\b(?:instead|rather)\b")
"""A scope change that replaces what was sought ("only chairs instead", "rather some rugs")."""
RESET = re.compile(
    r"\b(?:start (?:over|again|afresh)|reset|clear (?:everything|all|the search)|new search|"
    r"from scratch|forget (?:everything|all that)|begin again)\b"
)
TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[,.;!?]")
NEGATE = frozenset({"not", "no", "without", "except", "excluding", "exclude", "avoid", "hate", "non", "nor"})
NEGATE_PAIRS = frozenset({"don't", "dont", "nothing"})
ONLY = frozenset({"only", "just", "exclusively"})
ALSO = frozenset({"also", "plus", "add", "too", "include"})
BOUNDARY = frozenset({",", ".", ";", "!", "?", "but", "only", "just", "also", "with", "plus"})

Mode = Literal["set", "only", "also", "not"]
MAX_REFERENCES = 12
"""Most references kept from one message (a pasted wall of "#1 #1 #1 ..." stays cheap)."""


@dataclass
class _Scan:
    """Mutable scratch space of one parse; turned into a frozen `Turn` at the end."""

    colours: list[str] = field(default_factory=list)
    exclude_colours: list[str] = field(default_factory=list)
    scopes: dict[Mode, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(dict))
    pos_words: list[str] = field(default_factory=list)
    neg_words: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    made: list[Scope] = field(default_factory=list)


class Parser:
    """Built-in parser bound to one catalog vocabulary (and optionally a goal planner)."""

    def __init__(self, vocab: Vocabulary, goals: bool = True) -> None:
        """Bind the vocabulary learned from the catalog; `goals` turns goal detection on."""
        self.vocab = vocab
        self.goals = goals

    def parse(self, message: str, state: QueryState | None = None) -> Turn:
        """Turn one message into a `Turn`; `state` gives context (sections, shown results). Pure."""
        state = state or QueryState()
        text = normalise(message)
        text = re.sub(r"\s+", " ", text).strip()
        fields: dict[str, object] = {"text": message}
        if RESET.search(text):
            fields["reset"] = True
            text = RESET.sub(" ", text)
            state = QueryState()
        consumed: frozenset[str] = frozenset()
        section, text = self._section_target(text, state)
        goal = goal_phrase(text) if self.goals and not section else None
        if section:
            fields["section"] = section
        price, text = self._price(text)
        if price is not None:
            fields["price"] = price
        if goal is not None:
            # the goal's words are the goal: the planner reads them, they do not become filters here
            fields["goal"] = goal_phrase(text) or goal
            consumed = frozenset(TOKEN_RE.findall(text)) - {",", ".", ";", "!", "?"}
        refs, none_of_these, text = self._references(text)
        fields["references"] = refs[:MAX_REFERENCES]
        fields["none_of_these"] = none_of_these
        scan = self._scan(text, consumed)
        fields.update(self._finish(scan))
        fields["replace_subject"] = bool(INSTEAD.search(text)) and any(sc.mode == "only" for sc in scan.made)
        return Turn.model_validate(fields)

    # --- pieces -------------------------------------------------------------------------------

    def _section_target(self, text: str, state: QueryState) -> tuple[str | None, str]:
        for sec in sorted(state.sections, key=lambda s: -len(s.name)):
            key = phrase_key(sec.name)
            pattern = re.compile(
                rf"^(?:and\s+|now\s+|for\s+)?(?:the\s+)?{re.escape(sec.name.lower())}\b|^(?:the\s+)?{re.escape(key)}\b"
            )
            m = pattern.search(text)
            if m:
                return sec.name, text[m.end() :]
        return None, text

    def _price(self, text: str) -> tuple[PriceChange | None, str]:
        m = PRICE_ANY.search(text)
        if m:  # "any price" clears the price filter
            return PriceChange(relative="any"), text[: m.start()] + " " + text[m.end() :]
        lo: float | None = None
        hi: float | None = None
        relative: Literal["cheaper", "pricier", "below_that"] | None = None
        for rx in (PRICE_RANGE, PRICE_DASH):
            m = rx.search(text)
            if m:
                a, b = _amount(m.group(1), m.group(0)), _amount(m.group(2), m.group(0))
                lo, hi = min(a, b), max(a, b)
                text = text[: m.start()] + " " + text[m.end() :]
                break
        if lo is None and hi is None:
            m = PRICE_AROUND.search(text)
            if m:
                v = _amount(m.group(1), m.group(0))
                lo, hi = round(v * 0.75, 2), round(v * 1.25, 2)
                text = text[: m.start()] + " " + text[m.end() :]
        m = PRICE_THAT.search(text)
        if m:
            relative = "below_that"
            text = text[: m.start()] + " " + text[m.end() :]
        m = PRICE_MAX.search(text)
        if m:
            hi = _amount(m.group(1), m.group(0))
            text = text[: m.start()] + " " + text[m.end() :]
        m = PRICE_MIN.search(text)
        if m:
            lo = _amount(m.group(1), m.group(0))
            text = text[: m.start()] + " " + text[m.end() :]
        if relative is None and hi is None and PRICE_CHEAPER.search(text):
            relative = "cheaper"
        elif relative is None and lo is None and PRICE_PRICIER.search(text):
            relative = "pricier"
        text = PRICE_PRICIER.sub(" ", PRICE_CHEAPER.sub(" ", text))
        if lo is None and hi is None and relative is None:
            return None, text
        return PriceChange(min=lo, max=hi, relative=relative), text

    def _references(self, text: str) -> tuple[tuple[Reference, ...], bool, str]:
        refs: list[Reference] = []
        none_of_these = bool(NONE_OF_THESE.search(text))
        text = NONE_OF_THESE.sub(" ", text)
        spans: list[tuple[int, int]] = []
        for rx in (REF_NUMBER, REF_ORDINAL):
            for m in rx.finditer(text):
                if any(s <= m.start() < e for s, e in spans):
                    continue
                raw = m.group(1)
                pos = ORDINALS[raw] if raw in ORDINALS else int(raw)
                if pos == 0:
                    continue
                negative = bool(NEG_REF_CUE.search(text[max(0, m.start() - 30) : m.start()]))
                refs.append(_reference(pos, negative))
                spans.append((m.start(), m.end()))
        for m in REF_THIS.finditer(text):
            negative = m.group(1) in {"less", "fewer", "not", "nothing"}
            refs.append(Reference(position=None, polarity=-1 if negative else 1, weight=1.0 if negative else 2.0))
            spans.append((m.start(), m.end()))
        for s, e in sorted(spans, reverse=True):
            text = text[:s] + " " + text[e:]
        # the cue words of a reference ("more like", "less like") are grammar, not query text
        text = re.sub(r"\b(?:more|less|fewer|something|nothing)\s+like\b", " ", text)
        return tuple(refs), none_of_these, text

    def _scan(self, text: str, consumed: frozenset[str]) -> _Scan:
        scan = _Scan()
        tokens = TOKEN_RE.findall(text.replace("-", ""))
        mode: Mode = "set"
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in BOUNDARY:
                mode = "set"
            if tok in NEGATE or (tok in NEGATE_PAIRS and i + 1 < len(tokens)):
                mode = "not"
                i += 1
                continue
            if tok in ONLY:
                mode = "only"
                i += 1
                continue
            if tok in ALSO:
                mode = "also"
                i += 1
                continue
            if tok in BOUNDARY or tok in consumed or singular(tok) in consumed:
                i += 1
                continue
            step = self._match_phrase(tokens, i, mode, scan)
            if step:
                i += step
                continue
            self._word(tok, mode, scan)
            i += 1
        return scan

    def _match_phrase(self, tokens: list[str], i: int, mode: Mode, scan: _Scan) -> int:
        for n in range(min(self.vocab.max_phrase_words, len(tokens) - i), 0, -1):
            window = tokens[i : i + n]
            if any(t in BOUNDARY for t in window):
                continue
            phrase = " ".join(window)
            colours = self.vocab.colour(phrase)
            if colours:
                (scan.exclude_colours if mode == "not" else scan.colours).extend(colours)
                return n
            matches = self.vocab.best(phrase)
            if matches and self._modifies_next(tokens, i + n, matches):
                return 0  # "table lamps": an attribute value naming the next word's kind stays soft text
            if matches and not (n == 1 and phrase in STOPWORDS):
                target = scan.scopes["not" if mode == "not" else mode]
                for m in matches:
                    target.setdefault(m.field, []).append(m.value)
                return n
        return 0

    def _modifies_next(self, tokens: list[str], j: int, matches: list[Match]) -> bool:
        """Whether attribute matches are a modifier of the next word ("table" in "table lamps", where
        Suitable For = table is a value of the catalog): the next word is catalog text that names no
        category, colour or attribute itself. Categories are never modifiers; "garden bench cushions" keeps
        its attribute, since "cushions" is a phrase of its own."""
        if any(m.field == "category" for m in matches) or j >= len(tokens):
            return False
        nxt = tokens[j]
        if nxt in BOUNDARY or nxt in STOPWORDS or nxt in NEGATE or nxt.isdigit() or not self.vocab.is_known(nxt):
            return False
        for n in range(min(self.vocab.max_phrase_words, len(tokens) - j), 0, -1):
            phrase = " ".join(tokens[j : j + n])
            if self.vocab.colour(phrase) or self.vocab.best(phrase):
                return False
        return True

    def _word(self, tok: str, mode: Mode, scan: _Scan) -> None:
        audience = self._audience(tok)
        if audience is not None and mode != "not":
            fld, values = audience
            scan.scopes["only"].setdefault(fld, []).extend(values)
            return
        if tok in STOPWORDS or tok.isdigit():
            return
        # a word the catalog does not know stays soft: it steers the dense ranking, never a filter
        (scan.neg_words if mode == "not" else scan.pos_words).append(tok)
        if not self.vocab.is_known(tok) and tok not in scan.unknown:
            scan.unknown.append(tok)

    def _audience(self, tok: str) -> tuple[str, tuple[str, ...]] | None:
        """The audience field and its values a word names ("women" -> gender in {Women, Unisex}), if any."""
        who = AUDIENCE_WORDS.get(tok)
        fld = self.vocab.audience_field
        if who is None or fld is None:
            return None
        values = self.vocab.audience_values.get(who, ())
        return (fld, values) if values else None

    def _finish(self, scan: _Scan) -> dict[str, object]:
        out: dict[str, object] = {
            "colours": tuple(dict.fromkeys(scan.colours)),
            "exclude_colours": tuple(dict.fromkeys(scan.exclude_colours)),
            "unknown": tuple(scan.unknown[:20]),
        }
        scopes: list[Scope] = []
        for mode, per_field in scan.scopes.items():
            if not per_field:
                continue
            cats = _most_specific(list(dict.fromkeys(per_field.pop("category", []))))
            attrs = {f: tuple(dict.fromkeys(v)) for f, v in per_field.items()}
            scope_mode: Literal["only", "also", "not"] = "only" if mode == "set" else mode
            touched = {"category"} if cats else set()
            touched |= set(attrs)
            replace: tuple[str, ...] = ()
            if scope_mode == "only":
                tax = self.vocab.taxonomy_fields
                replace = tuple(sorted(tax if touched & tax else touched))
            scopes.append(Scope(mode=scope_mode, categories=cats, attributes=attrs, replace=replace))
        out["scopes"] = tuple(scopes)
        scan.made = scopes
        understood = bool(scopes or scan.colours or scan.exclude_colours or scan.neg_words)
        if not understood and scan.pos_words and all(w in scan.unknown for w in scan.pos_words):
            scan.pos_words = []  # nothing here is the catalog's language: report it, search for nothing
        if scan.pos_words:
            out["add_positives"] = (Term(kind=TermKind.TEXT, value=" ".join(scan.pos_words)),)
        if scan.neg_words:
            out["add_negatives"] = tuple(Term(kind=TermKind.TEXT, value=w) for w in dict.fromkeys(scan.neg_words))
        return out


def _most_specific(cats: list[str]) -> tuple[str, ...]:
    """The categories one scope means: "pendant lamps" names lamp › pendant, not every lamp, and in "table
    lamps" the "table" is the lamp's kind, not the furniture. A name several categories share keeps those
    under another category the message named (when there are); then a category is dropped when a more
    specific one under it was named too."""

    def ancestors(c: str) -> list[str]:
        parts = c.split(PATH_SEP)
        return [PATH_SEP.join(parts[:i]) for i in range(1, len(parts))]

    named = set(cats)
    by_name: dict[str, list[str]] = defaultdict(list)
    for c in cats:
        by_name[phrase_key(c.rsplit(PATH_SEP, 1)[-1])].append(c)
    keep: set[str] = set()
    for group in by_name.values():
        placed = [c for c in group if any(a in named for a in ancestors(c))]
        keep.update(placed if placed and len(group) > 1 else group)
    return tuple(c for c in cats if c in keep and not any(o != c and o.startswith(c + PATH_SEP) for o in keep))


def _amount(raw: str, context: str) -> float:
    value = float(raw)
    if re.search(rf"{re.escape(raw)}\s*k\b", context):
        value *= 1000
    return value


def _reference(position: int, negative: bool) -> Reference:
    from_end = position == -1
    pos = 1 if from_end else position
    if negative:
        return Reference(position=pos, from_end=from_end, polarity=-1, weight=1.0)
    return Reference(position=pos, from_end=from_end, polarity=1, weight=2.0)
