"""A session's uploaded photos as a turn uses them: fetched from the session store and decoded at most once
per turn, however many sections search with them."""

from __future__ import annotations

import io
from typing import Any

from moodboard.assistant.sessions import SessionStore
from moodboard.core.errors import ImageError
from moodboard.rank.search import QueryImage


class SessionPhotos:
    """A session's uploaded photos by digest, decoded at most once per turn."""

    def __init__(self, sessions: SessionStore, session_id: str) -> None:
        """Read photos of `session_id` from `sessions`."""
        self.sessions = sessions
        self.session_id = session_id
        self._decoded: dict[str, QueryImage | None] = {}

    def get(self, digest: str) -> QueryImage | None:
        """The decoded photo with this digest, or None when the session no longer holds it."""
        if digest not in self._decoded:
            data = self.sessions.get_image(self.session_id, digest)
            self._decoded[digest] = None if data is None else QueryImage(decode_photo(data), digest)
        return self._decoded[digest]


def decode_photo(data: bytes) -> Any:
    """Decode uploaded bytes to an RGB image (`ImageError` with the fix when they are no image)."""
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(io.BytesIO(data)).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot decode the uploaded image: {exc}", "upload a JPEG or PNG") from exc
