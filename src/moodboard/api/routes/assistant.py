"""The conversational assistant over HTTP.

- `POST /assistant/sessions` opens a session (optionally for a known `user_id`).
- `GET /assistant/sessions/{id}` returns its state and history.
- `POST /assistant/sessions/{id}/messages` sends one message: JSON `{"message": "..."}` (optionally with a
  structured filter change: `"filters": {...}` in the `POST /search` form, `"remove_filters": ["color"]`), or multipart
  with a `message` field and an `image` file. With `?stream=true` (or `Accept: text/event-stream`) the
  reply streams as server-sent events: `turn`, then `section`/`results`, then `done` with the reply.
  A photo that shows a scene is also answered region by region (`regions` in the reply, as
  `POST /search/look` does); `?regions=false` skips that work.
- `POST /assistant/sessions/{id}/feedback` records a click, save or hide as an engagement event of the
  session (a thin alias of `POST /events` with `context.session_id`, which anonymous sessions can use).
- `DELETE /assistant/sessions/{id}` forgets a conversation (state, history, uploaded images).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodboard.api.auth import Caller, CallerDep, ensure_owner
from moodboard.api.pools import run_model
from moodboard.api.schemas import PinCard, SceneRegionOut
from moodboard.api.services import Services, ServicesDep
from moodboard.assistant.engine import Assistant
from moodboard.assistant.reply import Reply
from moodboard.core.errors import ImageError, InvalidInputError, PayloadTooLargeError
from moodboard.core.query import FilterEdit
from moodboard.index.attributes import parse_filter_edit

router = APIRouter(prefix="/assistant", tags=["assistant"])


class SessionIn(BaseModel):
    """Options of a new session."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(None, description="a known user whose taste profile biases ranking")


class MessageIn(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field("", description="what the shopper says (may be empty with `filters` or `remove_filters`)")
    filters: dict[str, Any] | None = Field(
        None,
        description="a structured filter change in the `POST /search` filter form: each field named here "
        "replaces the conversation's constraint on that field",
        examples=[{"price_max": 40, "color": ["red"]}],
    )
    remove_filters: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="fields whose constraint to drop: price, price_min, price_max, category, color or an attribute",
    )


class CardOut(PinCard):
    """One assistant result: its pin card plus the retrieval sources and the section it belongs to."""

    sources: list[str]
    section: str | None = None


class SectionOut(BaseModel):
    """One section of a goal cascade with its own results."""

    name: str
    filters: dict[str, Any]
    results: list[CardOut]
    note: str | None = None


class AssistantRegionOut(SceneRegionOut):
    """A region of this turn's scene photo with its products as assistant cards."""

    results: list[CardOut]


class ReplyOut(BaseModel):
    """One turn's reply: the message, the parsed turn, the new state and the results (flat or by section)."""

    session_id: str
    message: str
    turn: dict[str, Any]
    state: dict[str, Any]
    results: list[CardOut]
    sections: list[SectionOut]
    chips: list[str]
    facets: dict[str, dict[str, int]]
    unknown: list[str]
    notes: list[str]
    parser: str
    timings_ms: dict[str, float]
    regions: list[AssistantRegionOut] = Field(
        default_factory=list, description="this turn's photo region by region, when it shows a scene (else empty)"
    )


class SessionOut(BaseModel):
    """A new conversation: its id (the handle for every later call), its empty state and its shopper."""

    session_id: str
    state: dict[str, Any]
    user_id: int | None


class StoredSessionOut(BaseModel):
    """A stored conversation: state, recent turns, the session's engagement profile and its version."""

    id: str
    state: dict[str, Any]
    history: list[dict[str, Any]]
    profile: dict[str, float]
    user_id: int | None
    created_at: float
    updated_at: float
    version: int


class FeedbackOut(BaseModel):
    """The session's engagement profile after the feedback (pin id -> weight)."""

    session_id: str
    profile: dict[str, float]


class FeedbackIn(BaseModel):
    """A click, save or hide on a shown pin."""

    model_config = ConfigDict(extra="forbid")

    pin_id: int
    kind: Literal["click", "save", "purchase", "hide"]


def get_assistant(services: Services) -> Assistant:
    """The assistant of the runtime (built on first use over the one search service)."""
    return services.runtime.assistant.get()


def _invalid(exc: ValidationError, model: str) -> InvalidInputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return InvalidInputError(f"{where}: {first['msg']}", f"send a JSON body matching {model}", field=where)


async def _json_body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise _invalid(exc, model.__name__) from exc


def _body(model: type[BaseModel], multipart: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAPI request body for a route that reads its body by hand (JSON, optionally multipart)."""
    content: dict[str, Any] = {"application/json": {"schema": model.model_json_schema()}}
    if multipart:
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": multipart}}
    return {"requestBody": {"content": content, "required": False}}


@router.post(
    "/sessions",
    status_code=201,
    summary="Open a conversation",
    response_model=SessionOut,
    openapi_extra=_body(SessionIn),
)
async def create_session(request: Request, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """Open a new session and return its id and (empty) state.

    A signed-in shopper's session is theirs (personalised by their taste, visible only to them); naming
    another `user_id` needs an operator key. Anonymous sessions are reachable by their unguessable id only.
    """
    body: SessionIn = await _json_body(request, SessionIn)
    user_id = body.user_id if body.user_id is not None else caller.user_id
    if user_id is not None:
        ensure_owner(caller, user_id, f"user {user_id}")
    assistant = await run_in_threadpool(get_assistant, services)
    session = await run_in_threadpool(assistant.start, user_id)
    return {"session_id": session.id, "state": session.state.to_dict(), "user_id": session.user_id}


@router.get("/sessions/{session_id}", summary="A conversation's state and history", response_model=StoredSessionOut)
async def get_session(session_id: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """Return the stored session."""
    assistant = await run_in_threadpool(get_assistant, services)
    session = await run_in_threadpool(_owned_session, assistant, session_id, caller)
    return session.to_dict()


def _owned_session(assistant: Assistant, session_id: str, caller: Caller) -> Any:
    """Load a session, refusing (404) a shopper's session to anyone but that shopper or an operator."""
    session = assistant.sessions.load(session_id)
    if session.user_id is not None:
        ensure_owner(caller, session.user_id, f"session {session_id}")
    return session


@router.delete("/sessions/{session_id}", status_code=204, summary="Forget a conversation")
async def delete_session(session_id: str, services: ServicesDep, caller: CallerDep) -> None:
    """Delete the session's state, history and uploaded images."""
    assistant = await run_in_threadpool(get_assistant, services)
    await run_in_threadpool(_owned_session, assistant, session_id, caller)
    await run_in_threadpool(assistant.sessions.delete, session_id)


async def _read_message(request: Request, services: Services) -> tuple[str, bytes | None, FilterEdit | None]:
    content_type = request.headers.get("content-type", "")
    limit = services.settings.api.max_upload_bytes
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        message = form.get("message", "")
        if not isinstance(message, str):
            raise InvalidInputError("`message` must be a text field", "send the message as a form field")
        upload = form.get("image")
        image = None
        if upload is not None and not isinstance(upload, str):
            image = await upload.read(limit + 1)
            if len(image) > limit:
                raise PayloadTooLargeError(f"the uploaded image is over {limit:,} bytes", "send a smaller image")
            if not image:
                raise ImageError("the uploaded image is empty", "attach a JPEG or PNG file as `image`")
        return message, image, None
    body: MessageIn = await _json_body(request, MessageIn)
    edit = None
    if body.filters is not None or body.remove_filters:
        edit = parse_filter_edit(body.filters, body.remove_filters)
    return body.message, None, edit


def _sse(events: Iterator[tuple[str, Any]]) -> Iterator[str]:
    for kind, payload in events:
        data = payload.to_dict() if isinstance(payload, Reply) else payload
        yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/sessions/{session_id}/messages",
    summary="Send a message (JSON or multipart with an image); streams with ?stream=true",
    response_model=None,
    responses={200: {"model": ReplyOut, "content": {"text/event-stream": {}}}},
    openapi_extra=_body(MessageIn, {"message": {"type": "string"}, "image": {"type": "string", "format": "binary"}}),
)
async def post_message(
    session_id: str,
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    stream: bool = False,
    regions: bool = Query(True, description="answer a scene photo region by region too (false skips that work)"),
) -> dict[str, Any] | StreamingResponse:
    """Run one turn of the conversation and return (or stream) the reply."""
    message, image, edit = await _read_message(request, services)
    assistant = await run_in_threadpool(get_assistant, services)
    await run_in_threadpool(_owned_session, assistant, session_id, caller)
    turn = partial(assistant.events, session_id, message, image, edit, regions=regions)
    # `events` runs the whole turn (the stream only replays it): a photo turn embeds the photo, and a scene's
    # regions several crops, so it runs in the bounded model pool and text turns and searches keep flowing
    events = await (run_model(services, turn) if image is not None else run_in_threadpool(turn))
    if stream or "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(_sse(events), media_type="text/event-stream")
    reply: Reply | None = None

    def drain() -> Reply | None:
        last = None
        for kind, payload in events:
            if kind == "done":
                last = payload
        return last

    reply = await run_in_threadpool(drain)
    assert reply is not None
    return reply.to_dict()


@router.post(
    "/sessions/{session_id}/feedback",
    summary="Record a click, save or hide",
    response_model=FeedbackOut,
    openapi_extra=_body(FeedbackIn),
)
async def post_feedback(session_id: str, request: Request, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """Record engagement as an event of the session (owner's, or the anonymous session's guest); it
    biases later turns through the session's profile and reaches the taste graph like any event."""
    body: FeedbackIn = await _json_body(request, FeedbackIn)
    assistant = await run_in_threadpool(get_assistant, services)
    await run_in_threadpool(_owned_session, assistant, session_id, caller)
    profile = await run_in_threadpool(assistant.feedback, session_id, body.pin_id, body.kind)
    return {"session_id": session_id, "profile": {str(k): v for k, v in profile.items()}}
