"""The same-run baseline of `http_load.py`: a bare FastAPI app answering `/healthz` with a small JSON body.

Served by the same `moodboard.cli.serve.uvicorn_options` as `moodboard serve` (workers, event loop, HTTP
parser), so the ratio `healthz_ratio_vs_bare` measures moodboard's middleware and routing, not the server.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """The bare answer: a dict rendered as JSON, like moodboard's `/healthz`."""
    return {"status": "ok", "version": "bare"}
