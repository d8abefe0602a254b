"""The vector and lexical index, the Milvus backend, and the search ranking knobs they carry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MilvusSettings(BaseModel):
    """Where the `milvus` vector index backend keeps its collections (a cluster, or Milvus Lite in a file)."""

    uri: str = Field("", description="http://host:19530 (Milvus / Zilliz) or a local .db path (Milvus Lite)")
    token: str = Field("", description="user:password or an API key, when the cluster needs one")
    db: str = Field("", description="Milvus database name; empty = default")
    collection_prefix: str = Field("moodboard", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    insert_batch: int = Field(2000, ge=1, le=100_000, description="rows per upsert call")


class IndexSettings(BaseModel):
    """Vector and lexical index behaviour."""

    backend: Literal["faiss", "exact", "milvus"] = "faiss"
    exact_threshold: int = Field(20_000, ge=0)
    hybrid_vector_weight: float = Field(1.0, ge=0)
    hybrid_lexical_weight: float = Field(1.0, ge=0)
    rrf_k: int = Field(60, ge=1)
    max_k: int = Field(1000, ge=1, le=100_000)
    hnsw_m: int = Field(16, ge=4, le=128, description="HNSW links per node (memory ~ 8*M bytes/item)")
    hnsw_ef_construction: int = Field(64, ge=8, le=2048)
    hnsw_ef_search: int = Field(64, ge=8, le=4096)
    prefilter_max: int = Field(
        20_000, ge=0, description="filtered sets up to this size are searched exactly (pre-filter)"
    )
    compact_dead_fraction: float = Field(0.2, gt=0, le=1, description="rebuild on save above this")
    facet_pool: int = Field(200, ge=1, le=100_000, description="retrieved results that facets count")
    calibration_queries: int = Field(200, ge=10, le=100_000)
    cutoff_images: bool = Field(
        False, description="gate image queries too (off: people's photos score like noise; see BENCHMARKS.md)"
    )
    category_vote_weight: float = Field(
        0.2, ge=0, le=10, description="vector re-rank bonus for the categories of the top results; 0 = off"
    )
    category_vote_depth: int = Field(20, ge=1, le=1000, description="how many top vector results vote")
    photo_object_crop: Literal["auto", "always", "never"] = Field(
        "auto",
        description="crop uploaded photos to their main object (GrabCut) before embedding; auto = when the "
        "catalog's images are mostly packshots on white (measured by the index job); packshot uploads pass as-is",
    )
    text_cache_size: int = Field(4096, ge=0, le=1_000_000, description="query-text vectors cached per process")
    photo_cache_size: int = Field(256, ge=0, le=100_000, description="query-photo vectors cached per process")
    lexical_cache_size: int = Field(2048, ge=0, le=1_000_000, description="lexical answers cached per process")
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)
