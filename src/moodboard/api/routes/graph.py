"""Taste-graph endpoints: `GET /pins/{id}/related` and `GET /users/{id}/feed`.

Each result names why it was chosen (the query pin and the board or user that led to it); a fallback
answer (cold-start user, pin newer than the graph, too few walk results) says so in `fallback`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from moodboard.api.auth import Caller, CallerDep, ShopperDep, ensure_owner
from moodboard.api.cards import display_category, pins_by_id
from moodboard.api.schemas import PinCard, PinOut, pin_card, pin_out
from moodboard.api.services import Services, ServicesDep
from moodboard.core.errors import InvalidInputError
from moodboard.graph.live import LiveGraph
from moodboard.graph.recommender import RecommendationList
from moodboard.rank.experiments import assign_arm

router = APIRouter(tags=["graph"])


class BecauseOut(BaseModel):
    """What led to a recommendation: the query pin and the collection the walk went through."""

    query_pin_id: int | None = None
    via: str | None = None


class RecOut(BaseModel):
    """One recommended pin."""

    pin_id: int
    score: float
    source: str
    because: BecauseOut
    pin: PinOut | None = None


class RecCard(PinCard):
    """One recommendation as a pin card (source walk, profile, popular, ...) with what led to it."""

    because: BecauseOut


class RecsOut(BaseModel):
    """Recommendations, best first, and what they were computed from.

    `results` holds the pin cards (the one result shape of the API); `items` is the older lean form
    (`pin` filled when `pins=true`), kept for existing clients.
    """

    results: list[RecCard] = []
    items: list[RecOut]
    query_pin_ids: list[int]
    interest_pin_ids: list[int]
    fallback: str | None
    snapshot: str | None
    steps: int
    elapsed_ms: float
    arm: str | None = None  # the experiment arm of the user (settings.experiment); echo it on logged events


def _check_access(services: Services, caller: Caller, user_id: int) -> None:
    """A feed reveals engagement: only the user or an operator (or anyone in open dev mode) may ask."""
    api = services.settings.api
    if not (api.dev_mode and not api.api_keys):
        ensure_owner(caller, user_id, f"user {user_id}")


def reason(source: str, via: str | None) -> str:
    """Why the taste graph recommended a pin, from its source ("walk", "profile", "popular", "walk+profile")
    and the collection the walk went through ("board:<id>" or "user:<id>")."""
    parts = []
    sources = source.split("+")
    if "walk" in sources:
        parts.append("liked by the same shoppers" if (via or "").startswith("user:") else "often saved together")
    if "profile" in sources:
        parts.append("matches your taste")
    if "popular" in sources:
        parts.append("popular now")
    return " · ".join(parts)


def _out(services: Services, recs: RecommendationList, live: LiveGraph, with_pins: bool) -> RecsOut:
    pins = pins_by_id(services, (r.pin_id for r in recs.items))  # one batched read for cards and `pin`
    leaf = display_category(services)
    results: list[RecCard] = []
    for r in recs.items:
        pin = pins.get(r.pin_id)
        if pin is None:
            continue
        card = pin_card(pin, len(results) + 1, r.source, score=r.score, why=reason(r.source, r.via), category=leaf(pin))
        results.append(RecCard(**card, because=BecauseOut(query_pin_id=r.query_pin_id, via=r.via)))
    return RecsOut(
        results=results,
        items=[
            RecOut(
                pin_id=r.pin_id,
                score=r.score,
                source=r.source,
                because=BecauseOut(query_pin_id=r.query_pin_id, via=r.via),
                pin=pin_out(pins[r.pin_id]) if with_pins and r.pin_id in pins else None,
            )
            for r in recs.items
        ],
        query_pin_ids=recs.query_pin_ids,
        interest_pin_ids=recs.interest_pin_ids,
        fallback=recs.fallback,
        snapshot=live.snapshot.name if live.snapshot else None,
        steps=recs.steps,
        elapsed_ms=round(recs.elapsed_ms, 3),
    )


@router.get("/pins/{pin_id}/related", response_model=RecsOut, summary="Pins related to a pin (Pixie walk)")
async def related(
    pin_id: int,
    services: ServicesDep,
    caller: CallerDep,
    k: Annotated[int, Query(description="number of results (1..graph.max_k)")] = 20,
    user_id: Annotated[int | None, Query(description="apply this user's hidden/purchased/saved filters")] = None,
    seed: Annotated[int | None, Query(description="walk seed (same seed, same answer)")] = None,
    pins: Annotated[bool, Query(description="also fill `items[].pin` (`results` always has cards)")] = True,
) -> RecsOut:
    """Walk from the pin and return the most visited pins (multi-hit boosted), each with its reason."""
    live: LiveGraph = services.runtime.graph.get()

    def run() -> RecsOut:
        services.store.get_pin(pin_id)  # 404 for a pin the catalog does not know
        if user_id is not None:
            _check_access(services, caller, user_id)
            services.store.get_user(user_id)
        recs = services.runtime.feed.get().related(pin_id, k, user_id=user_id, seed=seed, in_catalog=True)
        return _out(services, recs, live, pins)

    return await run_in_threadpool(run)


@router.get("/users/{user_id}/feed", response_model=RecsOut, summary="A user's home feed (taste graph)")
async def feed(
    user_id: int,
    services: ServicesDep,
    caller: CallerDep,
    k: Annotated[int, Query(description="number of results (1..graph.max_k)")] = 20,
    seed: Annotated[int | None, Query(description="seed for the walk and the interest sampling")] = None,
    filter_saved: Annotated[bool | None, Query(description="hide pins the user saved (default: settings)")] = None,
    pins: Annotated[bool, Query(description="also fill `items[].pin` (`results` always has cards)")] = True,
) -> RecsOut:
    """Walk from the user's recent engagement and sampled interests; cold-start users get popular pins."""
    live: LiveGraph = services.runtime.graph.get()

    def run() -> RecsOut:
        _check_access(services, caller, user_id)
        services.store.get_user(user_id)  # 404 for an unknown user; a known user without events is cold start
        recs = services.runtime.feed.get().feed(user_id, k, seed=seed, filter_saved=filter_saved)
        out = _out(services, recs, live, pins)
        experiment = services.settings.experiment
        out.arm = assign_arm(user_id, experiment) if experiment.name else None
        return out

    return await run_in_threadpool(run)


@router.get("/me/feed", response_model=RecsOut, summary="My home feed (taste graph)")
async def my_feed(
    services: ServicesDep,
    caller: ShopperDep,
    k: Annotated[int, Query(description="number of results (1..graph.max_k)")] = 20,
    seed: Annotated[int | None, Query(description="seed for the walk and the interest sampling")] = None,
    filter_saved: Annotated[bool | None, Query(description="hide pins I saved (default: settings)")] = None,
    pins: Annotated[bool, Query(description="also fill `items[].pin` (`results` always has cards)")] = True,
) -> RecsOut:
    """The signed-in shopper's feed: the same walk as `GET /users/{id}/feed` for the token's user."""
    if caller.user_id is None:
        raise InvalidInputError("operator keys have no feed of their own", "use GET /users/{id}/feed")
    return await feed(caller.user_id, services, caller, k=k, seed=seed, filter_saved=filter_saved, pins=pins)
