"""The one error hierarchy of moodboard; `api` and `cli` map it to HTTP and exit codes.

Every error carries a message that names the problem and a `hint` that says what to do next.
"""

from __future__ import annotations


class MoodboardError(Exception):
    """Base class of every error moodboard raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, hint: str = "", *, field: str | None = None) -> None:
        """Create an error with a message, a hint on how to fix it, and optionally the field at fault."""
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def __str__(self) -> str:
        """Render the message followed by the hint."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(MoodboardError):
    """Settings are missing, contradictory or unsafe."""

    code = "config"


class InvalidInputError(MoodboardError):
    """A request, row or argument is malformed or out of range."""

    code = "invalid_input"


class ImageError(InvalidInputError):
    """An image cannot be decoded safely (corrupt, not an image, too large, unsupported)."""

    code = "bad_image"


class PayloadTooLargeError(InvalidInputError):
    """An upload is over its configured size limit (HTTP 413, like a body over the body limit)."""

    code = "too_large"


class UnsafeURLError(InvalidInputError):
    """A URL points somewhere moodboard refuses to fetch (private, loopback, metadata...)."""

    code = "unsafe_url"


class FetchError(MoodboardError):
    """A remote resource could not be fetched (timeout, size cap, wrong content type)."""

    code = "fetch_failed"


class NotFoundError(MoodboardError):
    """A pin, board, user, session or snapshot does not exist."""

    code = "not_found"


class ConflictError(MoodboardError):
    """The request conflicts with stored state (duplicate id, version mismatch)."""

    code = "conflict"


class SnapshotError(MoodboardError):
    """A snapshot (vectors, index, graph, model) is missing, corrupt or incompatible."""

    code = "snapshot"


class CorruptSnapshotError(SnapshotError):
    """A snapshot's files do not match the sizes and checksums its manifest recorded (half-written, damaged)."""

    code = "snapshot_corrupt"


class ModelMismatchError(SnapshotError):
    """Vectors from one model were used with an index or query built by another."""

    code = "model_mismatch"


class AuthError(MoodboardError):
    """The caller is not authenticated."""

    code = "unauthenticated"


class ForbiddenError(MoodboardError):
    """The caller is authenticated but may not do this."""

    code = "forbidden"


class RateLimitError(MoodboardError):
    """The caller sent too many requests."""

    code = "rate_limited"

    def __init__(self, message: str, hint: str = "", *, retry_after_s: float = 1.0) -> None:
        """Create a rate-limit error that says when to retry."""
        super().__init__(message, hint)
        self.retry_after_s = retry_after_s


class DependencyError(MoodboardError):
    """An optional dependency or external service needed for this feature is unavailable."""

    code = "dependency"
