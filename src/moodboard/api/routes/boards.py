"""Boards: a shopper's collections of pins (only the owner can read or change them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from moodboard.api.auth import ShopperDep, ensure_owner
from moodboard.api.cards import display_category
from moodboard.api.schemas import PinCard, PinOut, pin_card, pin_out
from moodboard.api.services import ServicesDep
from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Board, Event, EventType

router = APIRouter(tags=["boards"])


class BoardCreate(BaseModel):
    """A new board."""

    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Kitchen ideas"])]


class BoardPinAdd(BaseModel):
    """Save a pin to a board."""

    pin_id: Annotated[int, Field(ge=1, le=2**62, examples=[42])]
    session_id: Annotated[
        str | None, Field(pattern=r"^[a-f0-9]{32}$", description="the assistant session the save happened in")
    ] = None


class BoardOut(BaseModel):
    """A board with its pins (newest first)."""

    id: int
    name: str
    pin_count: int
    pins: list[PinOut] = []
    results: list[PinCard] = Field([], description="the same pins as cards (source `board`), the UI's shape")


def board_out(services: ServicesDep, board: Board, with_pins: bool = True) -> BoardOut:
    """Render a board, optionally with its pins (one batched read for both forms)."""
    stored = services.store.get_pins(list(board.pin_ids)) if with_pins else []
    leaf = display_category(services)
    cards = [PinCard(**pin_card(p, n, "board", category=leaf(p))) for n, p in enumerate(stored, 1)]
    return BoardOut(
        id=board.id, name=board.name, pin_count=len(board.pin_ids), pins=[pin_out(p) for p in stored], results=cards
    )


@router.get("/me/boards", response_model=list[BoardOut], summary="My boards")
def my_boards(services: ServicesDep, caller: ShopperDep) -> list[BoardOut]:
    """The signed-in shopper's boards with their pins (an operator key has none of its own)."""
    if caller.user_id is None:
        return []
    return [board_out(services, b) for b in services.store.list_boards(caller.user_id)]


@router.post("/me/boards", response_model=BoardOut, status_code=201, summary="Create a board")
def create_board(body: BoardCreate, services: ServicesDep, caller: ShopperDep) -> BoardOut:
    """Create a board for the signed-in shopper."""
    uid = _uid(caller)
    return board_out(services, services.store.create_board(uid, body.name))


@router.get("/boards/{board_id}", response_model=BoardOut, summary="One of my boards")
def get_board(board_id: int, services: ServicesDep, caller: ShopperDep) -> BoardOut:
    """A board of the signed-in shopper (404 for anyone else's)."""
    board = services.store.get_board(board_id)
    ensure_owner(caller, board.user_id, f"board {board_id}")
    return board_out(services, board)


@router.post("/boards/{board_id}/pins", response_model=BoardOut, summary="Save a pin to my board")
def add_pin(board_id: int, body: BoardPinAdd, services: ServicesDep, caller: ShopperDep) -> BoardOut:
    """Save a pin to a board; also records one `save` event (for the taste graph and the named session)."""
    board = services.store.get_board(board_id)
    ensure_owner(caller, board.user_id, f"board {board_id}")
    services.store.get_pin(body.pin_id)
    services.store.add_pin_to_board(board_id, body.pin_id)
    context: dict[str, Any] = {"board_id": board_id}
    if body.session_id is not None:
        context["session_id"] = body.session_id
    services.store.record_events([Event(board.user_id, body.pin_id, EventType.SAVE, datetime.now(UTC), context)])
    return board_out(services, services.store.get_board(board_id))


@router.delete("/boards/{board_id}/pins/{pin_id}", status_code=204, summary="Remove a pin from my board")
def remove_pin(board_id: int, pin_id: int, services: ServicesDep, caller: ShopperDep) -> Response:
    """Remove a pin from a board of the signed-in shopper."""
    board = services.store.get_board(board_id)
    ensure_owner(caller, board.user_id, f"board {board_id}")
    services.store.remove_pin_from_board(board_id, pin_id)
    return Response(status_code=204)


def _uid(caller: ShopperDep) -> int:
    if caller.user_id is None:
        raise InvalidInputError("operators have no boards of their own", "use a shopper token for this route")
    return caller.user_id
