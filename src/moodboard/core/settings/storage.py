"""Where the catalog lives and how it is ingested: the database and ingestion limits."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DatabaseSettings(BaseModel):
    """Where the catalog lives. Empty `url` means SQLite under `MOODBOARD_HOME`."""

    url: str = ""
    echo: bool = False
    pool_size: int = Field(5, ge=1, le=200)


class IngestSettings(BaseModel):
    """Limits and behaviour of catalog ingestion."""

    batch_size: int = Field(256, ge=1, le=100_000)
    workers: int = Field(0, ge=0, le=256, description="image decode workers; 0 = number of CPUs")
    max_pixels: int = Field(40_000_000, ge=1, description="decompression-bomb guard")
    max_file_bytes: int = Field(25 * 1024 * 1024, ge=1)
    thumbnail_px: int = Field(256, ge=16, le=2048)
    near_duplicate_distance: int = Field(4, ge=0, le=64, description="max pHash Hamming distance")
    allow_private_urls: bool = False
    url_timeout_s: float = Field(10.0, gt=0, le=300)
    url_max_redirects: int = Field(3, ge=0, le=20)
    default_currency: str | None = None
