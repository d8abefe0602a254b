"""The signed-in shopper: who they are and their engagement history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from moodboard.api.auth import ShopperDep
from moodboard.api.routes.auth import UserOut
from moodboard.api.services import ServicesDep
from moodboard.core.errors import InvalidInputError

router = APIRouter(tags=["me"])


class HistoryItem(BaseModel):
    """One past engagement."""

    pin_id: int
    type: str
    ts: str


@router.get("/me", response_model=UserOut, summary="Who am I")
def me(services: ServicesDep, caller: ShopperDep) -> UserOut:
    """The signed-in shopper."""
    if caller.user_id is None:
        raise InvalidInputError("operator keys have no shopper identity", "use a shopper token")
    user = services.store.get_user(caller.user_id)
    return UserOut(id=user.id, external_id=user.external_id, name=user.name)


@router.get("/me/history", response_model=list[HistoryItem], summary="My engagement history")
def history(
    services: ServicesDep, caller: ShopperDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[HistoryItem]:
    """The signed-in shopper's most recent events."""
    if caller.user_id is None:
        return []
    return [
        HistoryItem(pin_id=e.pin_id, type=e.type.value, ts=e.ts.isoformat())
        for e in services.store.events_for_user(caller.user_id, limit)
    ]
