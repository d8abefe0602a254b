"""What one assistant turn answers, and the sentence that says it.

The records (`Reply` with its `ResultItem`s, `SectionReply`s and scene regions) are what the HTTP API
returns and streams; `compose_message` writes the reply's one sentence from the new state: what is
shown now ("24 results for Lamps · under €40"), what a section-aimed edit changed, what was not
understood, and the notes of the turn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from moodboard.assistant.explain import Hit, distinct_labels, explain, price_phrase
from moodboard.assistant.query import section_filters
from moodboard.assistant.scene import SceneRegion
from moodboard.assistant.understanding import Understanding
from moodboard.core.query import Filters, QueryState, Section, TermKind, Turn


@dataclass
class ResultItem:
    """One result as the client sees it: the pin card (what a card shows) plus rank, score and reason."""

    position: int
    pin_id: int
    external_id: str
    title: str
    category: str | None
    color: str | None
    price: float | None
    currency: str | None
    merchant: str | None
    url: str | None
    thumbnail_url: str | None
    score: float
    sources: list[str]
    why: str
    section: str | None = None
    availability: str = "unknown"
    width: int | None = None
    height: int | None = None
    source: str = "assistant"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (flat: a copy of the fields; `dataclasses.asdict` deep-copies and was a third
        of a follow-up turn's CPU)."""
        out = dict(self.__dict__)
        out["sources"] = list(self.sources)
        return out


@dataclass
class SectionReply:
    """One section of a cascade with its results."""

    name: str
    filters: dict[str, Any]
    results: list[ResultItem]
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "filters": dict(self.filters),
            "results": [r.to_dict() for r in self.results],
            "note": self.note,
        }


@dataclass
class Reply:
    """Everything one turn produced."""

    session_id: str
    message: str
    turn: dict[str, Any]
    state: dict[str, Any]
    results: list[ResultItem] = field(default_factory=list)
    sections: list[SectionReply] = field(default_factory=list)
    chips: list[str] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parser: str = "builtin"
    timings_ms: dict[str, float] = field(default_factory=dict)
    regions: list[SceneRegion] = field(default_factory=list)  # a scene photo's regions (this turn's photo only)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dict(self.__dict__)
        out["results"] = [r.to_dict() for r in self.results]
        out["sections"] = [s.to_dict() for s in self.sections]
        out["regions"] = [
            {**asdict(replace(r, results=[])), "results": [i.to_dict() for i in r.results]} for r in self.regions
        ]
        for name in ("chips", "unknown", "notes"):
            out[name] = list(out[name])
        out["facets"] = {k: dict(v) for k, v in self.facets.items()}
        out["timings_ms"] = dict(self.timings_ms)
        return out


def reference_notes(state: QueryState, turn: Turn) -> list[str]:
    """Notes on references the screen cannot answer ("there is no result #9 on screen")."""
    notes = []
    for ref in turn.references:
        if ref.position is not None and ref.position > len(state.shown):
            notes.append(f"there is no result #{ref.position} on screen (I showed {len(state.shown)})")
        elif ref.position is None and not state.shown and state.focus is None:
            notes.append("there is nothing on screen yet to compare with")
    if turn.none_of_these and not state.shown:
        notes.append("nothing was shown yet")
    return notes


def compose_message(
    state: QueryState, turn: Turn, reply: Reply, n_shown: int, know: Understanding, currency: str | None
) -> str:
    """The reply's sentence: what is shown now and why, what was not understood, and the turn's notes."""
    parts: list[str] = []
    if turn.reset and state.is_empty():
        parts.append("Starting over. What are you looking for?")
    elif state.sections and turn.section:
        # a section-aimed edit ("the lamps, but under 200"): say what that section now shows
        target = next((s for s in state.sections if s.name == turn.section), None)
        sec_reply = next((r for r in reply.sections if r.name == turn.section), None)
        n = len(sec_reply.results) if sec_reply is not None else 0
        bits = _filter_bits(section_filters(state, target), know, currency) if target is not None else []
        what = f" ({' · '.join(bits)})" if bits else ""
        parts.append(f"“{turn.section}” now shows {_results(n)}{what}; the rest of your plan is unchanged.")
    elif state.sections:
        names = ", ".join(s.name for s in state.sections)
        parts.append(f"Here is a plan for “{state.goal or 'your goal'}”: {names}.")
    elif state.is_empty():
        parts.append("Tell me what you are looking for, or attach a photo.")
    else:
        has_photo = any(t.kind == TermKind.IMAGE for t in state.positives)
        texts = [str(t.value) for t in state.positives if t.kind == TermKind.TEXT][-3:]
        bits = [" ".join(w for w in t.split() if know.is_known(w)) for t in texts]
        bits = [b for b in bits if b] + _filter_bits(state.filters, know, currency)
        what = " · ".join((["your photo"] if has_photo else []) + bits) or "your picks"
        if n_shown:
            parts.append(f"{_results(n_shown)} for {what}.")
        elif has_photo:
            asked = f" ({' · '.join(bits)})" if bits else ""
            parts.append(f"I could not match your photo to anything in the catalog{asked}.")
        else:
            parts.append(f"Nothing in the catalog matches {what}.")
    if reply.unknown:
        shown_words = ", ".join(w[:30] for w in reply.unknown[:8])
        parts.append(f"I did not understand: {shown_words}.")
    parts += reply.notes
    return " ".join(parts)


def _filter_bits(f: Filters, know: Understanding, currency: str | None) -> list[str]:
    """The filters as short phrases for a reply ("Lamps", "red", "not white", "under €40")."""
    bits = distinct_labels(know.label, "category", f.categories)[:3]
    bits += [b for k, vals in f.attributes.items() for b in distinct_labels(know.label, k, vals)[:2]]
    bits += [f"{c}" for c in f.colours] + [f"not {c}" for c in f.exclude_colours]
    price = price_phrase(f, currency)
    return [*bits, price] if price else bits


def _results(n: int) -> str:
    """'1 result', '12 results'."""
    return f"{n} result" if n == 1 else f"{n} results"


def result_item(
    hit: Hit,
    state: QueryState,
    filters: Filters,
    has_image: bool,
    know: Understanding,
    position: int,
    section: Section | None,
    liked: bool = False,
) -> ResultItem:
    """A hit as the client sees it: its pin card, position, score, sources and why it is there."""
    pin = hit.pin
    price = float(pin.product.price) if pin.product.price is not None else None
    leaf = know.profile.leaf("category", pin.category) or pin.category
    return ResultItem(
        position=position,
        pin_id=pin.id,
        external_id=pin.external_id,
        title=pin.title,
        category=leaf,
        color=pin.color,
        price=price,
        currency=pin.product.currency,
        merchant=pin.product.merchant,
        url=pin.product.url,
        thumbnail_url=f"/pins/{pin.id}/thumbnail" if pin.image else None,
        availability=pin.product.availability.value,
        width=pin.image.width if pin.image else None,
        height=pin.image.height if pin.image else None,
        score=round(hit.score, 5),
        sources=list(hit.sources),
        why=explain(hit, state, filters, has_image, pin.product.currency, leaf, liked),
        section=section.name if section is not None else None,
    )
