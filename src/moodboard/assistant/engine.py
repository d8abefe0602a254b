"""The conversation engine: message (+ image) -> turn -> refined state -> retrieval -> cascade reply.

`Assistant.events()` runs one turn and yields its progress ("turn", then "section"/"results", then
"done" with the full reply), which the API streams as server-sent events; `Assistant.respond()` runs
the same turn to the end. A turn that fails (bad image, over-long message) raises before the
session is touched; a turn that succeeds is saved atomically, so the stored state is never corrupt.
A turn is computed in full, then saved with a version check (compare and swap) and only then
streamed: when another worker saved the session meanwhile, the turn is re-run on the fresh state, so
concurrent turns are never lost or interleaved and nothing streamed is ever discarded.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from moodboard.assistant.explain import chips, explain, facets, price_phrase
from moodboard.assistant.refine import refine
from moodboard.assistant.retrieval import Hit, RetrievalQuery, Retriever
from moodboard.assistant.sessions import Session, SessionStore
from moodboard.core.errors import ConflictError, ImageError, InvalidInputError
from moodboard.core.query import Filters, QueryState, Section, Shown, Term, TermKind, Turn

FLAT_K = 24
SECTION_K = 6
PROFILE_WEIGHT = 0.3
TURN_ATTEMPTS = 12  # a turn that loses this many races in a row answers 409


class TurnParser(Protocol):
    """Anything that turns a message into a `Turn` (the built-in parser or an LLM backend)."""

    def parse(self, message: str, state: QueryState | None = None) -> Turn:
        """Parse one message in the context of `state`."""
        ...


class TasteSource(Protocol):
    """Pins that stand for a known user's taste, with weights."""

    def profile_pins(self, user_id: int) -> list[tuple[int, float]]:
        """The user's taste as weighted pin ids (empty when unknown)."""
        ...


class ImageCheck(Protocol):
    """Validates uploaded image bytes (raises `ImageError` when they are not a safe image)."""

    def __call__(self, data: bytes) -> None:
        """Raise `ImageError` unless `data` is a decodable image within limits."""
        ...


@dataclass
class ResultItem:
    """One result as the client sees it."""

    position: int
    pin_id: int
    external_id: str
    title: str
    category: str | None
    color: str | None
    price: float | None
    score: float
    sources: list[str]
    why: str
    section: str | None = None


@dataclass
class SectionReply:
    """One section of a cascade with its results."""

    name: str
    filters: dict[str, Any]
    results: list[ResultItem]
    note: str | None = None


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Assistant:
    """Runs conversations over one retriever, parser, session store and optional taste source."""

    def __init__(
        self,
        retriever: Retriever,
        parser: TurnParser,
        sessions: SessionStore,
        *,
        taste: TasteSource | None = None,
        image_check: ImageCheck | None = None,
        max_message_chars: int = 4000,
    ) -> None:
        """Wire the parts; nothing heavy happens here."""
        self.retriever = retriever
        self.parser = parser
        self.sessions = sessions
        self.taste = taste
        self.image_check = image_check
        self.max_message_chars = max_message_chars

    def start(self, user_id: int | None = None) -> Session:
        """Open a new session (optionally for a known user)."""
        return self.sessions.create(user_id)

    def respond(self, session_id: str, message: str, image: bytes | None = None) -> Reply:
        """Run one turn to completion and return the reply."""
        reply: Reply | None = None
        for kind, payload in self.events(session_id, message, image):
            if kind == "done":
                reply = payload
        assert reply is not None  # the generator always ends with "done"
        return reply

    def feedback(self, session_id: str, pin_id: int, kind: str) -> dict[int, float]:
        """Record a click/save/hide in the session as an engagement event; returns the session's profile."""
        self.sessions.record(session_id, int(pin_id), kind)
        return dict(self.sessions.load(session_id).profile)

    # --- one turn ------------------------------------------------------------------------------

    def _check(self, message: str, image: bytes | None) -> str:
        if not isinstance(message, str):
            raise InvalidInputError("message must be text", "send a JSON string", field="message")
        text = message.strip()
        if len(text) > self.max_message_chars:
            raise InvalidInputError(
                f"message is {len(text)} characters long; the limit is {self.max_message_chars}",
                "send a shorter message",
                field="message",
            )
        if not text and not image:
            raise InvalidInputError(
                "message is empty", "say what you are looking for or attach a photo", field="message"
            )
        if image is not None:
            if not image:
                raise ImageError("the uploaded image is empty", "attach a JPEG or PNG photo")
            if self.image_check is not None:
                self.image_check(image)
        return text

    def events(self, session_id: str, message: str, image: bytes | None = None) -> Iterator[tuple[str, Any]]:
        """Validate now, then return the turn's events: ("turn", dict), ("results"|"section", ...),
        ("done", Reply). The turn runs and is saved here, so bad input, unknown sessions and a lost race
        (`ConflictError`) raise before anything is streamed."""
        t0 = time.perf_counter()
        text = self._check(message, image)
        return iter(self._run(session_id, text, image, t0))

    def _run(self, session_id: str, text: str, image: bytes | None, t0: float) -> list[tuple[str, Any]]:
        """Run the turn on the stored session and save it if nobody saved first; else re-run it."""
        for attempt in range(TURN_ATTEMPTS):
            session = self.sessions.load(session_id)
            events = list(self._turn(session, text, image, t0))
            try:
                self.sessions.save(session)
            except ConflictError:
                if attempt + 1 == TURN_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # jitter, so racing workers spread out
                continue
            done: Reply = events[-1][1]
            done.timings_ms["total"] = round((time.perf_counter() - t0) * 1000, 2)  # with the save (and retries)
            return events
        raise AssertionError("unreachable")  # the loop returns or raises

    def _turn(self, session: Session, text: str, image: bytes | None, t0: float) -> Iterator[tuple[str, Any]]:
        """One turn's events on a loaded session, updating it in memory (the caller saves it)."""
        if True:  # keeps the body's indentation (and its diff) as it was under the old per-process lock
            turn = self.parser.parse(text, session.state) if text else Turn(text="")
            if image is not None:
                digest = self.sessions.put_image(session.id, image)
                refs = tuple(r for r in turn.references if r.position is not None)
                img_term = Term(kind=TermKind.IMAGE, value=digest, weight=1.5)
                turn = turn.model_copy(update={"add_positives": (*turn.add_positives, img_term), "references": refs})
            t_parse = time.perf_counter()
            yield "turn", turn.model_dump(mode="json")
            state = session.state if turn.is_noop() else refine(session.state, turn)
            reply = Reply(session_id=session.id, message="", turn=turn.model_dump(mode="json"), state={})
            reply.parser = turn.source  # which parser produced this turn (an LLM may have fallen back)
            reply.unknown = list(turn.unknown)
            reply.notes = list(turn.notes) + self._reference_notes(session.state, turn)
            profile = self._profile(session)
            hits_all: list[Hit] = []
            shown: list[Shown] = []
            if state.sections:
                for section in state.sections:
                    hits = self._retrieve(session, state, section, profile)
                    items = self._items(hits, state, self._section_filters(state, section), len(shown), section.name)
                    shown += [Shown(pin_id=i.pin_id, price=i.price, section=section.name) for i in items]
                    sec = SectionReply(
                        section.name, section.filters.model_dump(mode="json", exclude_defaults=True), items
                    )
                    if not items:
                        sec.note = f"nothing in this catalog matches “{section.name}”"
                    reply.sections.append(sec)
                    hits_all += hits
                    yield "section", asdict(sec)
            elif not state.is_empty():
                hits_all = self._retrieve(session, state, None, profile)
                reply.results = self._items(hits_all, state, state.filters, 0, None)
                shown = [Shown(pin_id=i.pin_id, price=i.price) for i in reply.results]
                yield "results", [asdict(i) for i in reply.results]
            t_retrieve = time.perf_counter()
            state = state.model_copy(update={"shown": tuple(shown)})
            reply.state = state.to_dict()
            reply.facets = facets(hits_all)
            reply.chips = chips(hits_all, state.filters, [s.name for s in state.sections])
            reply.message = self._message(state, turn, reply, len(shown))
            session.state = state
            session.history.append(
                {"message": text[:500], "turn": reply.turn, "shown": [s.pin_id for s in shown], "at": time.time()}
            )
            reply.timings_ms = {
                "parse": round((t_parse - t0) * 1000, 2),
                "retrieve_rank": round((t_retrieve - t_parse) * 1000, 2),
                "total": round((time.perf_counter() - t0) * 1000, 2),
            }
        yield "done", reply

    # --- helpers -------------------------------------------------------------------------------

    def _profile(self, session: Session) -> tuple[tuple[int, float], ...]:
        pins = [(pid, w) for pid, w in session.profile.items() if w > 0]
        if session.user_id is not None and self.taste is not None:
            pins += self.taste.profile_pins(session.user_id)
        pins = sorted(pins, key=lambda p: -p[1])[:10]
        return tuple((pid, PROFILE_WEIGHT * min(w, 2.0)) for pid, w in pins)

    def _section_filters(self, state: QueryState, section: Section) -> Filters:
        g, s = state.filters, section.filters
        return s.model_copy(
            update={
                "price_min": s.price_min if s.price_min is not None else g.price_min,
                "price_max": s.price_max if s.price_max is not None else g.price_max,
                "colours": s.colours or g.colours,
                "exclude_colours": tuple(dict.fromkeys((*s.exclude_colours, *g.exclude_colours))),
                "audience": s.audience or g.audience,
                "exclude_categories": tuple(dict.fromkeys((*s.exclude_categories, *g.exclude_categories))),
            }
        )

    def _retrieve(
        self, session: Session, state: QueryState, section: Section | None, profile: tuple[tuple[int, float], ...]
    ) -> list[Hit]:
        pos, neg = list(state.positives), list(state.negatives)
        filters = state.filters
        k = FLAT_K
        if section is not None:
            pos = [t.model_copy(update={"weight": t.weight * 0.5}) for t in pos] + list(section.positives)
            neg = neg + list(section.negatives)
            filters = self._section_filters(state, section)
            k = SECTION_K
        images = []
        for t in pos:
            if t.kind == TermKind.IMAGE:
                data = self.sessions.get_image(session.id, str(t.value))
                if data is not None:
                    images.append((data, t.weight))
        query = RetrievalQuery(
            texts=tuple((str(t.value), t.weight) for t in pos if t.kind == TermKind.TEXT),
            negative_texts=tuple((str(t.value), t.weight) for t in neg if t.kind == TermKind.TEXT),
            pins=tuple((int(t.value), t.weight) for t in pos if t.kind == TermKind.PIN),
            negative_pins=tuple((int(t.value), t.weight) for t in neg if t.kind == TermKind.PIN),
            images=tuple(images),
            profile_pins=profile,
            filters=filters,
            # pins negated in the conversation or hidden by the shopper never come back
            exclude_ids=frozenset(int(t.value) for t in neg if t.kind == TermKind.PIN)
            | {pid for pid, w in session.profile.items() if w < 0},
            k=k,
        )
        return self.retriever.retrieve(query)

    def _items(
        self, hits: list[Hit], state: QueryState, filters: Filters, offset: int, section: str | None
    ) -> list[ResultItem]:
        has_image = any(t.kind == TermKind.IMAGE for t in state.positives)
        out = []
        for n, h in enumerate(hits):
            price = float(h.pin.product.price) if h.pin.product.price is not None else None
            out.append(
                ResultItem(
                    position=offset + n + 1,
                    pin_id=h.pin.id,
                    external_id=h.pin.external_id,
                    title=h.pin.title,
                    category=h.pin.category,
                    color=h.pin.color,
                    price=price,
                    score=round(h.score, 5),
                    sources=list(h.sources),
                    why=explain(h, state, filters, has_image),
                    section=section,
                )
            )
        return out

    @staticmethod
    def _reference_notes(state: QueryState, turn: Turn) -> list[str]:
        notes = []
        for ref in turn.references:
            if ref.position is not None and ref.position > len(state.shown):
                notes.append(f"there is no result #{ref.position} on screen (I showed {len(state.shown)})")
            elif ref.position is None and not state.shown and state.focus is None:
                notes.append("there is nothing on screen yet to compare with")
        if turn.none_of_these and not state.shown:
            notes.append("nothing was shown yet")
        return notes

    @staticmethod
    def _message(state: QueryState, turn: Turn, reply: Reply, n_shown: int) -> str:
        parts: list[str] = []
        if turn.reset and state.is_empty():
            parts.append("Starting over. What are you looking for?")
        elif state.sections:
            names = ", ".join(s.name for s in state.sections)
            parts.append(f"Here is a plan for your {state.goal or 'goal'}: {names}.")
        elif state.is_empty():
            parts.append("Tell me what you are looking for, or attach a photo.")
        else:
            has_photo = any(t.kind == TermKind.IMAGE for t in state.positives)
            bits = [str(t.value) for t in state.positives if t.kind == TermKind.TEXT][-3:]
            f = state.filters
            bits += list(f.categories[:3]) + [f"{c}" for c in f.colours] + [f"not {c}" for c in f.exclude_colours]
            price = price_phrase(f)
            if price:
                bits.append(price)
            if f.audience:
                bits.append(f"for {f.audience}")
            what = " · ".join((["your photo"] if has_photo else []) + bits) or "your picks"
            if n_shown:
                parts.append(f"{n_shown} results for {what}.")
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
