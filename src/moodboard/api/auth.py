"""Who is calling: operators (API keys) and shoppers (signed bearer tokens).

Operators hold the keys in `api.api_keys` and may write and administer anything; in dev mode with no keys
configured, operator routes are open (the local demo). Shoppers carry `Authorization: Bearer <token>`, an
HMAC-signed `{user id, expiry}` issued by `POST /auth/token` (operator) or, in dev mode only,
`POST /auth/demo-login`. Shopper-owned resources (boards, history, sessions) are only visible to their owner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from moodboard.api.services import Services, ServicesDep
from moodboard.core.errors import AuthError, ForbiddenError, NotFoundError
from moodboard.core.settings import Settings


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: an operator, a shopper (user id), or anonymous."""

    operator: bool = False
    user_id: int | None = None

    def can_act_as(self, user_id: int) -> bool:
        """Whether this caller may read or change `user_id`'s private data."""
        return self.operator or self.user_id == user_id


def secret_key(settings: Settings) -> bytes:
    """The token-signing key: the configured one, or (dev mode) one generated once under MOODBOARD_HOME."""
    if settings.api.secret_key:
        return settings.api.secret_key.encode()
    path: Path = settings.layout.secret_key
    if not path.exists():
        settings.ensure_home()
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue_token(key: bytes, user_id: int, ttl_s: int) -> str:
    """Sign a shopper token for `user_id`, valid for `ttl_s` seconds."""
    body = _b64(json.dumps({"uid": user_id, "exp": int(time.time()) + ttl_s}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify_token(key: bytes, token: str) -> int:
    """Return the user id of a valid token.

    Raises:
        AuthError: the token is malformed, forged or expired.
    """
    body, _, sig = token.partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not sig or not hmac.compare_digest(sig, expected):
        raise AuthError("shopper token is invalid", "sign in again to get a new token")
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        uid, exp = int(claims["uid"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError("shopper token is malformed", "sign in again to get a new token") from exc
    if exp < time.time():
        raise AuthError("shopper token has expired", "sign in again to get a new token")
    return uid


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def resolve_caller(request: Request, services: Services) -> Caller:
    """Identify the caller from the X-API-Key header or the bearer token (anonymous when neither)."""
    keys = services.settings.api.api_keys
    api_key = request.headers.get("x-api-key")
    token = _bearer(request)
    if api_key is not None or (token is not None and token in keys):
        presented = api_key if api_key is not None else token
        if any(hmac.compare_digest(presented or "", k) for k in keys):
            return Caller(operator=True)
        raise AuthError("API key is not valid", "use one of the keys in MOODBOARD_API__API_KEYS")
    if token is not None:
        uid = verify_token(secret_key(services.settings), token)
        return Caller(user_id=uid)
    return Caller()


def get_caller(request: Request, services: ServicesDep) -> Caller:
    """FastAPI dependency: the caller, possibly anonymous."""
    caller = resolve_caller(request, services)
    request.state.caller = caller
    return caller


def require_shopper(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """FastAPI dependency: a signed-in shopper (or an operator acting for one)."""
    if caller.user_id is None and not caller.operator:
        raise AuthError("this route needs a signed-in shopper", "send Authorization: Bearer <shopper token>")
    return caller


def require_operator(caller: Annotated[Caller, Depends(get_caller)], services: ServicesDep) -> Caller:
    """FastAPI dependency: an operator key (open in dev mode when no keys are configured)."""
    if caller.operator:
        return caller
    if services.settings.api.dev_mode and not services.settings.api.api_keys:
        return Caller(operator=True, user_id=caller.user_id)
    if caller.user_id is not None:
        raise ForbiddenError("this route is for operators", "use an operator API key (X-API-Key)")
    raise AuthError("this route needs an operator API key", "send X-API-Key: <key from MOODBOARD_API__API_KEYS>")


def ensure_owner(caller: Caller, owner_id: int, what: str) -> None:
    """Refuse access to another shopper's private data, without revealing that it exists.

    Raises:
        NotFoundError: the caller is neither the owner nor an operator (404, like a missing resource).
    """
    if not caller.can_act_as(owner_id):
        raise NotFoundError(f"{what} does not exist", "you can only use your own boards, history and sessions")


CallerDep = Annotated[Caller, Depends(get_caller)]
ShopperDep = Annotated[Caller, Depends(require_shopper)]
OperatorDep = Annotated[Caller, Depends(require_operator)]
