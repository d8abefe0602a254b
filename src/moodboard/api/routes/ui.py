"""The web UI: `GET /` serves the single page, `GET /static/{path}` its scripts, styles and icons.

Everything the page needs ships inside the package (no CDN, no build step); the page talks to the same
JSON API that any other client uses.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from moodboard.core.errors import NotFoundError

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def static_file(relative: str) -> Path:
    """Resolve `relative` inside the static folder.

    Raises:
        NotFoundError: the file does not exist, has an unknown type or lies outside the folder.
    """
    root = STATIC_DIR.resolve()
    try:
        path = (root / relative).resolve()
        found = path.is_relative_to(root) and path.is_file() and path.suffix in MEDIA_TYPES
    except (ValueError, OSError):  # regression: a NUL byte (`/static/app.js%00.png`) raised ValueError -> 500
        found = False
    if not found:
        raise NotFoundError(f"no static file {relative!r}", "reload the page at / to get current assets")
    return path


@router.api_route("/", methods=["GET", "HEAD"], response_class=FileResponse)
def index() -> FileResponse:
    """The single-page web app."""
    return FileResponse(
        static_file("index.html"), media_type=MEDIA_TYPES[".html"], headers={"Cache-Control": "no-cache"}
    )


@router.get("/static/{relative:path}", response_class=FileResponse)
def asset(relative: str) -> FileResponse:
    """One static asset of the web app (revalidated on each load, so a new version shows at once)."""
    path = static_file(relative)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
