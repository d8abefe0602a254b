"""Users' boards: named collections of pins, and the board-pin pairs the taste graph is built from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from moodboard.catalog.tables import BoardPinRow, BoardRow, PinRow
from moodboard.catalog.users import UserStore
from moodboard.core.errors import ConflictError, InvalidInputError, NotFoundError
from moodboard.core.records import Board

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


class BoardStore:
    """Create, fill and read boards; a board belongs to a user (`users` checks they exist)."""

    def __init__(self, sessions: sessionmaker[Session], users: UserStore) -> None:
        """Work through `sessions` (shared by every part of the catalog store); `users` checks owners."""
        self.sessions = sessions
        self.users = users

    def create_board(self, user_id: int, name: str) -> Board:
        """Create a board for a user.

        Raises:
            ConflictError: the user already has a board with that name.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInputError("board name must be 1-200 characters", "pick a shorter name", field="name")
        self.users.get_user(user_id)
        try:
            with self.sessions.begin() as s:
                row = BoardRow(user_id=user_id, name=name)
                s.add(row)
                s.flush()
                return Board(id=row.id, user_id=user_id, name=name, created_at=row.created_at)
        except IntegrityError as exc:
            raise ConflictError(f"board {name!r} already exists", "choose another name or reuse it") from exc

    def get_board(self, board_id: int) -> Board:
        """One board with its pin ids (most recently added first)."""
        with self.sessions() as s:
            row = s.get(BoardRow, board_id) if 0 < board_id < 2**63 else None
            if row is None:
                raise NotFoundError(f"board {board_id} does not exist", "list boards with GET /boards")
            pins = s.scalars(
                select(BoardPinRow.pin_id)
                .where(BoardPinRow.board_id == board_id)
                .order_by(BoardPinRow.added_at.desc(), BoardPinRow.pin_id)
            ).all()
            return Board(id=row.id, user_id=row.user_id, name=row.name, pin_ids=tuple(pins), created_at=row.created_at)

    def list_boards(self, user_id: int) -> list[Board]:
        """All boards of a user, each with its pin ids."""
        with self.sessions() as s:
            ids = s.scalars(select(BoardRow.id).where(BoardRow.user_id == user_id).order_by(BoardRow.id)).all()
        return [self.get_board(i) for i in ids]

    def add_pin_to_board(self, board_id: int, pin_id: int) -> None:
        """Add a pin to a board (a no-op if it is already there)."""
        if not (0 < board_id < 2**63 and 0 < pin_id < 2**63):
            raise NotFoundError(f"board {board_id} or pin {pin_id} does not exist", "check the ids")
        with self.sessions.begin() as s:
            if s.get(BoardRow, board_id) is None:
                raise NotFoundError(f"board {board_id} does not exist", "create the board first")
            if s.get(PinRow, pin_id) is None:
                raise NotFoundError(f"pin {pin_id} does not exist", "check the pin id")
            if s.get(BoardPinRow, (board_id, pin_id)) is None:
                s.add(BoardPinRow(board_id=board_id, pin_id=pin_id, added_at=datetime.now(UTC)))

    def remove_pin_from_board(self, board_id: int, pin_id: int) -> None:
        """Remove a pin from a board (a no-op if absent)."""
        if not (0 < board_id < 2**63 and 0 < pin_id < 2**63):
            return
        with self.sessions.begin() as s:
            s.execute(delete(BoardPinRow).where(BoardPinRow.board_id == board_id, BoardPinRow.pin_id == pin_id))

    def iter_board_pins(self, batch_size: int = 50_000) -> Iterator[list[tuple[int, int]]]:
        """Yield (board_id, pin_id) pairs in batches."""
        last = (0, 0)
        while True:
            with self.sessions() as s:
                rows = s.execute(
                    select(BoardPinRow.board_id, BoardPinRow.pin_id)
                    .where(
                        (BoardPinRow.board_id > last[0])
                        | ((BoardPinRow.board_id == last[0]) & (BoardPinRow.pin_id > last[1]))
                    )
                    .order_by(BoardPinRow.board_id, BoardPinRow.pin_id)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            batch = [(int(b), int(p)) for b, p in rows]
            last = batch[-1]
            yield batch

    def board_owner(self, board_id: int) -> int:
        """The user id owning a board."""
        return self.get_board(board_id).user_id
