"""Engagement events (view, click, save, hide, purchase): stored, then fed to the taste graph."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from moodboard.api.auth import CallerDep
from moodboard.api.services import ServicesDep
from moodboard.core.errors import AuthError, InvalidInputError
from moodboard.core.records import Event, EventType

router = APIRouter(tags=["events"])


class EventIn(BaseModel):
    """One engagement event. Shoppers send their own; operators name the user.

    Unknown fields are refused (422): an event that says `user_id` was silently stored as the caller's
    own before, so a client that meant another user never learned its events went to the wrong one.
    """

    model_config = ConfigDict(extra="forbid")

    pin_id: Annotated[int, Field(ge=1, le=2**62, examples=[42])]
    type: EventType
    user: Annotated[str | None, Field(max_length=256, description="operators only: the shopper's external id")] = None
    ts: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        """Name unknown fields and the one that names a shopper (`user`, operators only)."""
        if isinstance(data, dict):
            unknown = sorted(str(k)[:40] for k in data if k not in cls.model_fields)
            if unknown:
                raise ValueError(
                    f"unknown field {', '.join(unknown)}: an event has pin_id, type, ts, context and (operators "
                    "only) `user`, the shopper's external id; a shopper's token already says whose event it is"
                )
        return data


class EventsIn(BaseModel):
    """A batch of events (at most 1,000)."""

    model_config = ConfigDict(extra="forbid")

    events: Annotated[list[EventIn], Field(min_length=1, max_length=1000)]


class EventsOut(BaseModel):
    """How many events were stored, and their ids (in the order sent)."""

    stored: int
    ids: list[int] = []


@router.post("/events", response_model=EventsOut, status_code=202, summary="Record engagement events")
def post_events(body: EventsIn, services: ServicesDep, caller: CallerDep) -> EventsOut:
    """Store events and update the taste graph in real time (a save or hide shows in the feed within 1 s).

    An event whose `context` has the `session_id` of the shopper's assistant session also shapes that
    conversation's profile.
    """
    now = datetime.now(UTC)
    events: list[Event] = []
    for e in body.events:
        if e.user is not None:
            if not caller.operator:
                raise InvalidInputError("only operators may send events for another user", "drop the `user` field")
            uid = services.store.ensure_user(e.user).id
        elif caller.user_id is not None:
            uid = caller.user_id
        else:
            raise AuthError("events need a signed-in shopper", "send Authorization: Bearer <shopper token>")
        ts = e.ts if e.ts is not None and e.ts.tzinfo is not None else now
        events.append(Event(uid, e.pin_id, e.type, min(ts, now), dict(e.context)))
    stored = services.store.record_events(events)  # stores, then publishes them with their ids
    return EventsOut(stored=len(stored), ids=[e.id for e in stored if e.id is not None])
