"""Sign-in endpoints: operator-issued shopper tokens, and demo personas in dev mode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from moodboard.api.auth import OperatorDep, issue_token, secret_key
from moodboard.api.services import ServicesDep
from moodboard.catalog.personas import PERSONAS
from moodboard.core.errors import ForbiddenError, NotFoundError

router = APIRouter(tags=["auth"])


class UserOut(BaseModel):
    """A shopper as the API shows it."""

    id: int
    external_id: str
    name: str


class TokenOut(BaseModel):
    """A signed shopper token and who it is for."""

    token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class TokenRequest(BaseModel):
    """Operator request: a token for the shopper with this external id (created if new)."""

    user: Annotated[str, Field(min_length=1, max_length=256, examples=["shopper-123"])]
    name: Annotated[str, Field(max_length=200)] = ""


class DemoLogin(BaseModel):
    """Dev-mode sign-in as one of the demo personas."""

    persona: Annotated[str, Field(min_length=1, max_length=64, examples=["ava"])]


def _token(services: ServicesDep, user_id: int, external_id: str, name: str) -> TokenOut:
    ttl = services.settings.api.token_ttl_s
    token = issue_token(secret_key(services.settings), user_id, ttl)
    return TokenOut(token=token, expires_in=ttl, user=UserOut(id=user_id, external_id=external_id, name=name))


@router.post("/auth/token", response_model=TokenOut, summary="Issue a shopper token (operator)")
def issue(body: TokenRequest, services: ServicesDep, _op: OperatorDep) -> TokenOut:
    """Create (if needed) the shopper and return a signed token for them."""
    user = services.store.ensure_user(body.user, body.name)
    return _token(services, user.id, user.external_id, user.name)


@router.get("/personas", response_model=list[UserOut], summary="Demo personas (dev mode)")
def personas(services: ServicesDep) -> list[UserOut]:
    """The demo personas that exist in this catalog (empty outside dev mode)."""
    if not services.settings.api.dev_mode:
        return []
    found = [services.store.find_user(p.external_id) for p in PERSONAS]
    return [UserOut(id=u.id, external_id=u.external_id, name=u.name) for u in found if u is not None]


@router.post("/auth/demo-login", response_model=TokenOut, summary="Sign in as a demo persona (dev mode)")
def demo_login(body: DemoLogin, services: ServicesDep) -> TokenOut:
    """Return a token for a demo persona; refused outside dev mode."""
    if not services.settings.api.dev_mode:
        raise ForbiddenError("demo sign-in is disabled outside dev mode", "ask the operator for a shopper token")
    if body.persona not in {p.external_id for p in PERSONAS}:
        raise NotFoundError(f"persona {body.persona!r} does not exist", "pick one from GET /personas")
    user = services.store.find_user(body.persona)
    if user is None:
        raise NotFoundError(f"persona {body.persona!r} is not seeded", "run `moodboard demo` to seed personas")
    return _token(services, user.id, user.external_id, user.name)
