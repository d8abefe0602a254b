"""`/docs`: the interactive OpenAPI page, served from a PyPI-bundled Swagger UI (no CDN at run time)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from moodboard.core.errors import NotFoundError

router = APIRouter(include_in_schema=False)
ASSETS = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}


def _assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@router.get("/docs")
def docs() -> HTMLResponse:
    """The Swagger UI page for /openapi.json."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="moodboard API",
        swagger_js_url="/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/docs-assets/swagger-ui.css",
        swagger_favicon_url="/docs-assets/favicon-32x32.png",
    )


@router.get("/docs-assets/{name}")
def asset(name: str) -> FileResponse:
    """One of the bundled Swagger UI files."""
    if name not in ASSETS:
        raise NotFoundError(f"docs asset {name!r} does not exist", "open /docs")
    return FileResponse(_assets_dir() / name, headers={"Cache-Control": "public, max-age=86400"})
