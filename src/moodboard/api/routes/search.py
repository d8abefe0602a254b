"""`POST /search`: text, image (upload or pin), text+image, negatives and filters in; ranked pins,
their sources, scores and facets out. Accepts JSON, or multipart with an `image` file and an optional
`query` field holding the same JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodboard.api.cards import display_category, pins_by_id
from moodboard.api.fast_json import FastJSON
from moodboard.api.pools import run_model
from moodboard.api.schemas import PinCard, pin_card
from moodboard.api.services import Services, ServicesDep
from moodboard.core.errors import ImageError, InvalidInputError, PayloadTooLargeError
from moodboard.index.attributes import FACET_FIELDS, parse_filter
from moodboard.rank.search import SearchHit, SearchRequest, SearchService

router = APIRouter(tags=["search"])


class SearchIn(BaseModel):
    """A search query; at least one of text, pin_id, vector (or an uploaded image) is required."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=1000, description="free text")
    text_weight: float = Field(1.0, ge=0, le=10)
    image_weight: float = Field(1.0, ge=0, le=10, description="weight of the uploaded image")
    pin_id: int | None = Field(None, description="search by a catalog pin's image")
    pin_weight: float = Field(1.0, ge=0, le=10)
    vector: list[float] | None = Field(None, description="a raw query embedding from the index's model")
    negative_text: list[str] = Field(default_factory=list, max_length=20, description="terms to move away from")
    negative_pin_ids: list[int] = Field(default_factory=list, max_length=50)
    negative_weight: float = Field(0.5, ge=0, le=10)
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="price_min, price_max, category, color, availability, merchant (a value or a list); "
        "attributes: {field: [values]} for other fields; exclude: {field: [values]}",
    )
    k: int = Field(20, description="number of results (1..index.max_k)")
    mode: Literal["hybrid", "vector", "lexical"] = "hybrid"
    vector_weight: float | None = Field(None, ge=0, le=10, description="RRF weight; default index setting")
    lexical_weight: float | None = Field(None, ge=0, le=10, description="RRF weight; default index setting")
    cutoff: bool = Field(True, description="drop results below the catalog's calibrated relevance cutoff")
    facets: list[str] = Field(default_factory=lambda: list(FACET_FIELDS))


class SearchHitOut(PinCard):
    """One result: its pin card (source `search`) plus each retrieval source's rank and raw score."""

    sources: dict[str, dict[str, float]]


class SearchOut(BaseModel):
    """Results best first, facet counts over the retrieved set, and the cutoff that was applied."""

    results: list[SearchHitOut]
    facets: dict[str, dict[str, int]]
    cutoff: float | None
    below_cutoff: int
    model_id: str


def to_request(body: SearchIn, image: Any | None = None) -> SearchRequest:
    """Turn the validated body (and a decoded image) into the service's request."""
    return SearchRequest(
        text=body.text,
        text_weight=body.text_weight,
        image=image,
        image_weight=body.image_weight,
        pin_id=body.pin_id,
        pin_weight=body.pin_weight,
        vector=body.vector,
        negative_text=tuple(body.negative_text),
        negative_pin_ids=tuple(body.negative_pin_ids),
        negative_weight=body.negative_weight,
        filters=parse_filter(body.filters),
        k=body.k,
        mode=body.mode,
        vector_weight=body.vector_weight,
        lexical_weight=body.lexical_weight,
        cutoff=body.cutoff,
        facets=tuple(body.facets),
    )


async def read_photo(services: Services, upload: Any) -> Any:
    """An uploaded photo read within the size cap and decoded (`catalog.images.Decoded`), in the model pool.

    Raises:
        ImageError: the upload is empty or not a valid image.
        PayloadTooLargeError: it is over `api.max_upload_bytes`.
    """
    from moodboard.catalog.images import ImageLimits, open_checked

    limit = services.settings.api.max_upload_bytes
    data = await upload.read(limit + 1)
    if not data:
        raise ImageError("the uploaded image is empty", "attach a JPEG or PNG file as `image`")
    if len(data) > limit:
        raise PayloadTooLargeError(f"the uploaded image is over {limit:,} bytes", "send a smaller image")
    limits = ImageLimits(max_file_bytes=limit, max_pixels=services.settings.api.max_upload_pixels)
    return await run_model(services, open_checked, data, limits)  # a big photo never holds the shared pool


async def _read_image(services: Services, upload: Any) -> Any:
    return (await read_photo(services, upload)).image


@router.post(
    "/search",
    response_model=SearchOut,
    summary="Search pins by text, image, pin or vector",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": SearchIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            "query": {"type": "string", "description": "SearchIn as JSON"},
                            "text": {"type": "string"},
                            "k": {"type": "integer"},
                        },
                    }
                },
            },
            "required": True,
        }
    },
)
async def search(request: Request, services: ServicesDep) -> FastJSON:
    """Search the catalog; results carry fused scores, per-source ranks and scores, and facets."""
    content_type = request.headers.get("content-type", "")
    image = None
    try:
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            raw = form.get("query")
            body = SearchIn.model_validate_json(raw) if isinstance(raw, str) and raw.strip() else SearchIn()
            updates: dict[str, Any] = {}
            if isinstance(form.get("text"), str):
                updates["text"] = form.get("text")
            if isinstance(form.get("k"), str):
                updates["k"] = form.get("k")
            if updates:
                body = SearchIn.model_validate({**body.model_dump(), **updates})
            upload = form.get("image")
            if upload is not None and not isinstance(upload, str):
                image = await _read_image(services, upload)
        else:
            body = SearchIn.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInputError(
            f"{where}: {first['msg']}", "send a JSON body matching SearchIn (see /docs)", field=where
        ) from exc
    service: SearchService = services.runtime.search
    query = to_request(body, image)
    # photo queries embed an image (tens of ms of CPU): the bounded model pool keeps text searches flowing
    run = run_model if image is not None else _run_shared
    response = await run(services, service.search, query)
    out = response.to_json()
    out["results"] = hit_cards(services, response.hits, "search")
    return FastJSON(out)  # already the SearchOut shape: not validated a second time


def hit_cards(services: Services, hits: list[SearchHit], source: str) -> list[dict[str, Any]]:
    """Search hits as pin cards (with their `sources`), hydrated in one batched read; unknown pins left out."""
    pins = pins_by_id(services, (h.pin_id for h in hits if h.pin is None))
    leaf = display_category(services)
    cards: list[dict[str, Any]] = []
    for hit in hits:
        pin = hit.pin or pins.get(hit.pin_id)
        if pin is None:
            continue
        card = pin_card(pin, len(cards) + 1, source, score=hit.score, category=leaf(pin))
        card["sources"] = hit.sources
        cards.append(card)
    return cards


async def _run_shared(_services: Services, func: Any, *args: Any) -> Any:
    return await run_in_threadpool(func, *args)
