"""The catalog's users: shoppers known by a stable external id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from moodboard.catalog.tables import UserRow
from moodboard.core.errors import InvalidInputError, NotFoundError
from moodboard.core.records import User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


class UserStore:
    """Create and read users."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Work through `sessions` (the catalog store's sessionmaker, shared by every part)."""
        self.sessions = sessions

    def ensure_user(self, external_id: str, name: str = "") -> User:
        """Return the user with `external_id`, creating it if needed."""
        if not external_id or len(external_id) > 256:
            raise InvalidInputError("user id must be 1-256 characters", "pass a short stable id", field="user")
        with self.sessions.begin() as s:
            row = s.scalar(select(UserRow).where(UserRow.external_id == external_id))
            if row is None:
                row = UserRow(external_id=external_id, name=name or external_id)
                s.add(row)
                s.flush()
            return User(id=row.id, external_id=row.external_id, name=row.name)

    def get_user(self, user_id: int) -> User:
        """One user by id.

        Raises:
            NotFoundError: no such user.
        """
        with self.sessions() as s:
            row = s.get(UserRow, user_id) if 0 < user_id < 2**63 else None
        if row is None:
            raise NotFoundError(f"user {user_id} does not exist", "create the user by sending an event first")
        return User(id=row.id, external_id=row.external_id, name=row.name)

    def find_user(self, external_id: str) -> User | None:
        """The user with this external id, or None."""
        with self.sessions() as s:
            row = s.scalar(select(UserRow).where(UserRow.external_id == external_id))
        return None if row is None else User(id=row.id, external_id=row.external_id, name=row.name)

    def list_users(self) -> list[User]:
        """All users in id order."""
        with self.sessions() as s:
            rows = s.scalars(select(UserRow).order_by(UserRow.id)).all()
        return [User(id=r.id, external_id=r.external_id, name=r.name) for r in rows]
