"""SQLAlchemy 2 table definitions of the catalog store (the schema Alembic migrates)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of all catalog tables."""


class ImageRow(Base):
    """A stored image, identified by the SHA-256 of its bytes."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    byte_size: Mapped[int] = mapped_column(Integer)
    phash: Mapped[str] = mapped_column(String(16), index=True)
    color_sig: Mapped[str] = mapped_column(String(384), default="")
    thumbnail_path: Mapped[str] = mapped_column(String(512))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("images.id"), nullable=True)


class PinRow(Base):
    """A pin: an image with a title, description, category, colour and free-form attributes."""

    __tablename__ = "pins"
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(256), unique=True)
    title: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    color: Mapped[str | None] = mapped_column(String(100), index=True, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProductRow(Base):
    """The shoppable side of a pin (one row per pin that has any product data)."""

    __tablename__ = "products"
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"), primary_key=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True, index=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    availability: Mapped[str] = mapped_column(String(16), default="unknown")
    merchant: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class UserRow(Base):
    """A shopper."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(256), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BoardRow(Base):
    """A user's named collection of pins."""

    __tablename__ = "boards"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_boards_user_name"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BoardPinRow(Base):
    """Membership of a pin in a board."""

    __tablename__ = "board_pins"
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EventRow(Base):
    """One engagement event."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_ts", "user_id", "ts"),)
    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the assistant session the event happened in (copied from `context["session_id"]` to be indexed)
    session_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)


class AssistantSessionRow(Base):
    """One assistant conversation: its state and history, with a row version for compare-and-swap."""

    __tablename__ = "assistant_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True)
    # the guest user that an anonymous session's engagement events are recorded for (made on first use)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # the expiry sweep


class AssistantSessionImageRow(Base):
    """A photo uploaded in a session, stored once per session by its SHA-256 digest."""

    __tablename__ = "assistant_session_images"
    session_id: Mapped[str] = mapped_column(ForeignKey("assistant_sessions.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
