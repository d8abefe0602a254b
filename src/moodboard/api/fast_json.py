"""A JSON response for the hot routes: the body is already the documented schema, so it is written once.

FastAPI validates a route's return value against its `response_model` and then serialises it; for a
search that re-validates twenty pin cards the service just built (measured as a share of a search's CPU
comparable to the search itself, BENCHMARKS.md "HTTP serving speed"). Hot routes return this response
instead; their `response_model` still documents the schema, and the result-contract tests check the
bodies against it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class FastJSON(Response):
    """`application/json` written by orjson (numpy scalars and arrays allowed; NaN becomes null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """The body's bytes."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
