"""`POST /search/look`: shop the look. A scene photo (multipart `image`, optional `query` JSON with `k`)
in; the regions found in it (bounding box, label, score, products) and one merged product list out.

The upload is validated and decoded exactly as `POST /search` does it (size, pixel count, format) and
searched through the same search service; nothing is stored. A big JPEG is decoded at a reduced size
(JPEG draft mode, what keeps a 12-megapixel photo fast); boxes are scaled back to the uploaded photo's
pixels, and `image` gives that photo's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from moodboard.api.pools import run_model
from moodboard.api.routes.search import SearchHitOut, hit_cards, read_photo
from moodboard.api.schemas import SceneRegionOut
from moodboard.api.services import Services, ServicesDep
from moodboard.core.errors import ImageError, InvalidInputError
from moodboard.rank.shop_the_look import LookResponse, ShopTheLook

if TYPE_CHECKING:
    from moodboard.catalog.images import Decoded

router = APIRouter(tags=["search"])


class LookIn(BaseModel):
    """Options of a shop-the-look query (sent as the multipart `query` field, JSON)."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(20, description="length of the merged list and of each region's list (1..index.max_k)")


class RegionOut(SceneRegionOut):
    """One region of the photo with its own products (and how its category vote went)."""

    vote_share: float
    match: float = Field(description="mean similarity of its top results; weights it in the merged list")
    category_filtered: bool
    results: list[SearchHitOut]


class LookHitOut(SearchHitOut):
    """One product of the merged list, with the indices of the regions that found it."""

    regions: list[int]


class LookOut(BaseModel):
    """Regions best first, the merged de-duplicated list, the photo's size, model and timings."""

    regions: list[RegionOut]
    results: list[LookHitOut]
    image: dict[str, int]
    model_id: str
    timings_ms: dict[str, float]


def _look(services: Services) -> ShopTheLook:
    return services.runtime.look.get()


@router.post(
    "/search/look",
    response_model=LookOut,
    summary="Shop the look: the products in a scene photo, region by region",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image"],
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            "query": {"type": "string", "description": 'LookIn as JSON, e.g. {"k": 20}'},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def search_look(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Regions (bbox, label, score, results) of the uploaded photo and a merged, de-duplicated `results` list."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInputError(
            "shop the look takes a photo upload (multipart/form-data), not a JSON body",
            "send the photo as the `image` file",
            field="image",
        )
    form = await request.form()
    raw = form.get("query")
    try:
        body = LookIn.model_validate_json(raw) if isinstance(raw, str) and raw.strip() else LookIn()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        raise InvalidInputError(
            f"query.{where}: {first['msg']}", 'send `query` as JSON like {"k": 20}', field=where
        ) from exc
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise ImageError("no photo was uploaded", "attach a JPEG or PNG file as `image`")
    decoded = await read_photo(services, upload)
    look = _look(services)
    # proposals and the region crops' embedding are model work: the bounded pool keeps text searches flowing
    response = await run_model(services, look.answer, decoded.image, body.k)
    return await run_in_threadpool(_cards, services, response, decoded)


def _to_photo_pixels(out: dict[str, Any], decoded: Decoded) -> None:
    """Scale boxes found on a draft-reduced decode back to the uploaded photo's pixels."""
    image = decoded.image
    scale = max(decoded.width, decoded.height) / max(image.width, image.height)
    if abs(scale - 1.0) < 1e-9:
        return
    width, height = round(image.width * scale), round(image.height * scale)
    for region in out["regions"]:
        box = region["bbox"]
        region["bbox"] = {
            "left": min(width, round(box["left"] * scale)),
            "top": min(height, round(box["top"] * scale)),
            "right": min(width, round(box["right"] * scale)),
            "bottom": min(height, round(box["bottom"] * scale)),
        }
    out["image"] = {"width": width, "height": height}


def _cards(services: Services, response: LookResponse, decoded: Decoded) -> dict[str, Any]:
    """The answer with every region's results and the merged list as pin cards (source `look`), boxes in
    the uploaded photo's pixels."""
    out = response.to_json()
    _to_photo_pixels(out, decoded)
    for region, data in zip(response.regions, out["regions"], strict=True):
        data["results"] = hit_cards(services, region.hits, "look")
    merged = hit_cards(services, [hit for hit, _ in response.merged], "look")
    regions_of = {hit.pin_id: regions for hit, regions in response.merged}
    for card in merged:
        card["regions"] = regions_of[card["pin_id"]]
    out["results"] = merged
    return out
