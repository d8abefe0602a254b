"""The HTTP edge: API auth and limits, and how `moodboard serve` runs its workers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiSettings(BaseModel):
    """HTTP server, auth and limits."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_keys: list[str] = Field(default_factory=list, description="operator keys for writes/admin")
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(12 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_upload_pixels: int = Field(40_000_000, ge=1)
    rate_limit_per_minute: int = Field(600, ge=1)
    rate_limit_burst: int = Field(120, ge=1, description="requests allowed at once before the per-minute rate applies")
    rate_limit_clients: int = Field(
        65_536, ge=16, le=10_000_000, description="clients the rate limiter remembers (the least recent are forgotten)"
    )
    dev_mode: bool = True
    secret_key: str = Field("", description="signs shopper tokens; generated under home in dev mode")
    token_ttl_s: int = Field(7 * 24 * 3600, ge=60)
    metrics_public: bool = True
    warm_up: bool = Field(
        True, description="`serve` loads index, model, graph and assistant in the background at start"
    )


class ServeSettings(BaseModel):
    """How `moodboard serve` runs: worker processes, torch threads per worker, the bounded model pool."""

    workers: int = Field(0, ge=0, le=64, description="worker processes; 0 = one per CPU core (at most 8)")
    torch_threads: int = Field(0, ge=0, le=256, description="torch threads per worker; 0 = cores / workers (>= 1)")
    model_concurrency: int = Field(
        0, ge=0, le=64, description="photo decodes/embeddings and photo turns at once per worker; 0 = torch threads"
    )
    request_threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="requests run at once per worker; 0 = 4 per model thread, 40 with an LLM or database server",
    )
    log_requests: bool = Field(True, description="one JSON log line per request")
    backlog: int = Field(2048, ge=16, le=65_535, description="listen backlog of the server socket")
    pin_cache_size: int = Field(100_000, ge=0, le=10_000_000, description="catalog pins cached per process; 0 = off")
    pin_cache_ttl_s: float = Field(30.0, ge=0, le=86_400, description="seconds a cached pin is served before a re-read")
    rate_limit_file: str = Field(
        "", description="shared-memory file of the rate limiter (set by `serve` for its workers; empty = per process)"
    )
