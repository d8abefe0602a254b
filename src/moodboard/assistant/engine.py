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
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np

from moodboard.assistant.explain import Hit, chips, distinct_labels
from moodboard.assistant.photos import SessionPhotos
from moodboard.assistant.planner import SPREAD_WORDS, content_words
from moodboard.assistant.query import Context, section_filters, to_request
from moodboard.assistant.refine import refine
from moodboard.assistant.relax import relaxations
from moodboard.assistant.reply import (
    Reply,
    ResultItem,
    SectionReply,
    compose_message,
    reference_notes,
    result_item,
)
from moodboard.assistant.scene import scene_regions
from moodboard.assistant.sessions import Session, SessionStore
from moodboard.assistant.understanding import Understanding
from moodboard.core.errors import ConflictError, ImageError, InvalidInputError
from moodboard.core.query import FilterEdit, Filters, QueryState, Section, Shown, Term, TermKind, Turn
from moodboard.rank.search import QueryImage, SearchRequest, SearchResponse, SearchService
from moodboard.rank.shop_the_look import ShopTheLook

PROFILE_WEIGHT = 0.3
LIKED_MIN = 0.8
"""Similarity to a saved pin above which a result is explained as "like a pin you saved"."""
TURN_ATTEMPTS = 12  # a turn that loses this many races in a row answers 409


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


class Assistant:
    """Runs conversations over the search service, the catalog's understanding, sessions and taste."""

    def __init__(
        self,
        search: SearchService,
        understanding: Callable[[], Understanding],
        sessions: SessionStore,
        *,
        taste: TasteSource | None = None,
        image_check: ImageCheck | None = None,
        max_message_chars: int = 4000,
        look: Callable[[], ShopTheLook] | None = None,
        region_k: int = 8,
    ) -> None:
        """Wire the parts; nothing heavy happens here. `understanding` follows the live index snapshot;
        with `look`, a photo turn also answers a scene photo region by region (`region_k` products each)."""
        self.search = search
        self.understanding = understanding
        self.sessions = sessions
        self.taste = taste
        self.image_check = image_check
        self.max_message_chars = max_message_chars
        self.look = look
        self.region_k = region_k

    def start(self, user_id: int | None = None) -> Session:
        """Open a new session (optionally for a known user)."""
        return self.sessions.create(user_id)

    def respond(
        self,
        session_id: str,
        message: str,
        image: bytes | None = None,
        edit: FilterEdit | None = None,
        *,
        regions: bool = True,
    ) -> Reply:
        """Run one turn to completion and return the reply."""
        reply: Reply | None = None
        for kind, payload in self.events(session_id, message, image, edit, regions=regions):
            if kind == "done":
                reply = payload
        assert reply is not None  # the generator always ends with "done"
        return reply

    def feedback(self, session_id: str, pin_id: int, kind: str) -> dict[int, float]:
        """Record a click/save/hide in the session as an engagement event; returns the session's profile."""
        self.sessions.record(session_id, int(pin_id), kind)
        return dict(self.sessions.load(session_id).profile)

    # --- one turn ------------------------------------------------------------------------------

    def _check(self, message: str, image: bytes | None, edit: FilterEdit | None = None) -> str:
        if not isinstance(message, str):
            raise InvalidInputError("message must be text", "send a JSON string", field="message")
        text = message.strip()
        if len(text) > self.max_message_chars:
            raise InvalidInputError(
                f"message is {len(text)} characters long; the limit is {self.max_message_chars}",
                "send a shorter message",
                field="message",
            )
        if not text and not image and edit is None:
            raise InvalidInputError(
                "message is empty", "say what you are looking for or attach a photo", field="message"
            )
        if image is not None:
            if not image:
                raise ImageError("the uploaded image is empty", "attach a JPEG or PNG photo")
            if self.image_check is not None:
                self.image_check(image)
        return text

    def events(
        self,
        session_id: str,
        message: str,
        image: bytes | None = None,
        edit: FilterEdit | None = None,
        *,
        regions: bool = True,
    ) -> Iterator[tuple[str, Any]]:
        """Validate now, then return the turn's events: ("turn", dict), ("results"|"section", ...),
        ("done", Reply). The turn runs and is saved here, so bad input, unknown sessions and a lost race
        (`ConflictError`) raise before anything is streamed. `edit` is a structured filter change (a
        filter form), folded in with whatever the message says; `regions=False` skips answering a scene
        photo region by region (it costs several image embeddings)."""
        t0 = time.perf_counter()
        text = self._check(message, image, edit)
        return iter(self._run(session_id, text, image, t0, edit, regions))

    def _run(
        self,
        session_id: str,
        text: str,
        image: bytes | None,
        t0: float,
        edit: FilterEdit | None = None,
        regions: bool = True,
    ) -> list[tuple[str, Any]]:
        """Run the turn on the stored session and save it if nobody saved first; else re-run it."""
        for attempt in range(TURN_ATTEMPTS):
            session = self.sessions.load(session_id)
            events = list(self._turn(session, text, image, t0, edit, regions))
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

    def _turn(
        self,
        session: Session,
        text: str,
        image: bytes | None,
        t0: float,
        edit: FilterEdit | None = None,
        regions: bool = True,
    ) -> Iterator[tuple[str, Any]]:
        """One turn's events on a loaded session, updating it in memory (the caller saves it)."""
        know = self.understanding()
        turn = know.parser.parse(text, session.state) if text else Turn(text="")
        if edit is not None:
            turn = turn.model_copy(update={"filter_edit": edit})
        if not turn.goal and self._spread_candidate(turn, know):
            plan = know.planner.plan(turn.text, Filters(), require_spread=True)
            if plan:  # a several-word wish whose answers scatter over categories is a goal too
                turn = turn.model_copy(update={"goal": turn.text.strip()[:200], "plan": plan})
        if turn.goal and not turn.plan:
            plan = know.planner.plan(turn.goal, Filters())  # a new goal starts afresh (see refine)
            update: dict[str, Any] = {"plan": plan}
            if not plan:  # nothing in the catalog groups under this goal: search for it as text (no cutoff)
                update = {"add_positives": (*turn.add_positives, Term(kind=TermKind.TEXT, value=turn.goal))}
            turn = turn.model_copy(update=update)
        digest = None
        if image is not None:
            digest = self.sessions.put_image(session.id, image)
            refs = tuple(r for r in turn.references if r.position is not None)
            img_term = Term(kind=TermKind.IMAGE, value=digest, weight=1.5)
            turn = turn.model_copy(update={"add_positives": (*turn.add_positives, img_term), "references": refs})
        t_parse = time.perf_counter()
        yield "turn", turn.model_dump(mode="json")
        state = session.state if turn.is_noop() else self._rescope(refine(session.state, turn), turn)
        reply = Reply(session_id=session.id, message="", turn=turn.model_dump(mode="json"), state={})
        reply.parser = turn.source  # which parser produced this turn (an LLM may have fallen back)
        reply.unknown = list(turn.unknown)
        reply.notes = list(turn.notes) + reference_notes(session.state, turn)
        ctx = Context(
            profile_pins=self._profile(session),
            exclude_ids=frozenset(pid for pid, w in session.profile.items() if w < 0),
            is_known=know.is_known,
            max_k=self.search.settings.max_k,
        )
        photos = SessionPhotos(self.sessions, session.id)
        currency = know.profile.currency
        shown: list[Shown] = []
        facet_src: dict[str, dict[str, int]] = {}
        if state.sections:
            for section in state.sections:
                items, response, note = self._answer(state, section, ctx, photos, know, len(shown))
                shown += [Shown(pin_id=i.pin_id, price=i.price, section=section.name) for i in items]
                filters = section_filters(state, section)
                sec = SectionReply(section.name, filters.model_dump(mode="json", exclude_defaults=True), items)
                sec.note = note if items else f"nothing in this catalog matches “{section.name}”"
                reply.sections.append(sec)
                if response is not None and not facet_src:
                    facet_src = response.facets
                yield "section", sec.to_dict()
        elif not state.is_empty():
            items, response, note = self._answer(state, None, ctx, photos, know, 0)
            reply.results = items
            if note:
                reply.notes.append(note)
            shown = [Shown(pin_id=i.pin_id, price=i.price) for i in items]
            facet_src = response.facets if response is not None else {}
            yield "results", [i.to_dict() for i in reply.results]
        if digest is not None and regions and self.look is not None:  # this turn's photo, region by region
            self._scene(photos.get(digest), self.look, state, know, reply)
        t_retrieve = time.perf_counter()
        state = state.model_copy(update={"shown": tuple(shown)})
        reply.state = state.to_dict()
        reply.facets = {f: dict(list(v.items())[:12]) for f, v in facet_src.items()}
        prices = [s.price for s in shown if s.price is not None]
        names = [s.name for s in state.sections]
        reply.chips = chips(facet_src, state.filters, know.label, prices, currency, names)
        reply.message = compose_message(state, turn, reply, len(shown), know, currency)
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

    def _scene(
        self,
        photo: QueryImage | None,
        look: Callable[[], ShopTheLook],
        state: QueryState,
        know: Understanding,
        reply: Reply,
    ) -> None:
        """Put the photo's regions (each with its products, under the conversation's filters) on the reply."""
        if photo is None:
            return

        def item(hit: Hit, position: int) -> ResultItem:
            return result_item(hit, state, state.filters, True, know, position, None)

        def label(category: str) -> str:
            return know.profile.leaf("category", category) or category

        reply.regions, found = scene_regions(look(), photo.image, state.filters, self.region_k, item, label)
        reply.notes += [found] if found else []

    def _profile(self, session: Session) -> tuple[tuple[int, float], ...]:
        pins = [(pid, w) for pid, w in session.profile.items() if w > 0]
        if session.user_id is not None and self.taste is not None:
            pins += self.taste.profile_pins(session.user_id)
        pins = sorted(pins, key=lambda p: -p[1])[:10]
        return tuple((pid, PROFILE_WEIGHT * min(w, 2.0)) for pid, w in pins)

    @staticmethod
    def _spread_candidate(turn: Turn, know: Understanding) -> bool:
        """A plain wish in several words the catalog knows (no references, prices, sections or categories)."""
        if turn.references or turn.price or turn.section or turn.reset or turn.none_of_these:
            return False
        if any(sc.categories for sc in turn.scopes):
            return False
        known = [w for w in content_words(turn.text) if know.is_known(w)]
        return len(known) >= SPREAD_WORDS and len(known) >= len(turn.unknown)

    def _rescope(self, state: QueryState, turn: Turn) -> QueryState:
        """ "Only X" / "X instead" where X is not a category but no pin is both X and of the current
        categories: X replaces the category scope (the shopper changed what they look for)."""
        only = [sc for sc in turn.scopes if sc.mode == "only" and sc.attributes and not sc.categories]
        f = state.filters
        if not only or not f.categories:
            return state
        vectors = self.search.current_index().vectors
        if vectors.count_allowed(f) > 0:
            return state
        wider = f.model_copy(update={"categories": ()})
        if vectors.count_allowed(wider) == 0:
            return state
        return state.model_copy(update={"filters": wider})

    def _answer(
        self,
        state: QueryState,
        section: Section | None,
        ctx: Context,
        photos: SessionPhotos,
        know: Understanding,
        offset: int,
    ) -> tuple[list[ResultItem], SearchResponse | None, str | None]:
        """Results for the state or one section; when its filters leave nothing, the softest is relaxed
        (and the note says which); `the catalog has no ...` only when nothing at all passes."""
        req = to_request(state, section, ctx, photos.get, know.label)
        if req is None:
            return [], None, None
        response = self.search.search(req)
        note = None
        if not response.hits and not req.filters.is_empty():
            what = section.name if section is not None else self._subject(state, know)
            for relaxed, why in relaxations(req.filters, what, know.label, know.profile.currency):
                attempt = self.search.search(_with_filters(req, relaxed))
                if attempt.hits:
                    response, note = attempt, why
                    break
        filters = req.filters
        has_image = bool(req.images)
        hits = [Hit(h.pin, h.score, tuple(h.sources)) for h in response.hits if h.pin is not None]
        liked = self._liked([h.pin.id for h in hits], [p for p, _ in ctx.profile_pins])
        items = [
            result_item(hit, state, filters, has_image, know, offset + n + 1, section, like)
            for n, (hit, like) in enumerate(zip(hits, liked, strict=True))
        ]
        return items, response, note

    def _liked(self, hit_ids: list[int], taste_ids: list[int]) -> list[bool]:
        """Whether each hit is close to a pin the shopper saved (worth saying out loud)."""
        if not hit_ids or not taste_ids:
            return [False] * len(hit_ids)
        vectors = self.search.current_index().vectors
        taste = np.array(taste_ids, dtype=np.int64)
        taste = taste[vectors.contains(taste)]
        hits = np.array(hit_ids, dtype=np.int64)
        ok = vectors.contains(hits)
        if taste.shape[0] == 0 or not ok.any():
            return [False] * len(hit_ids)
        sims = np.full(hits.shape[0], -1.0, dtype=np.float32)
        sims[ok] = (vectors.get_vectors(hits[ok]) @ vectors.get_vectors(taste).T).max(axis=1)
        return (sims >= LIKED_MIN).tolist()

    @staticmethod
    def _subject(state: QueryState, know: Understanding) -> str:
        cats = distinct_labels(know.label, "category", state.filters.categories)
        texts = [str(t.value) for t in state.positives if t.kind == TermKind.TEXT][-1:]
        return " or ".join(cats) or " ".join(texts) or "that"


def _with_filters(req: SearchRequest, filters: Filters) -> SearchRequest:
    from dataclasses import replace

    return replace(req, filters=filters)
