"""The taste graph: build, walks, taste profiles and look-alike pins."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class GraphSettings(BaseModel):
    """Taste-graph build and walk parameters."""

    walk_steps: int = Field(20_000, ge=100)
    restart_prob: float = Field(0.5, gt=0, lt=1)
    n_p: int = Field(200, ge=1)
    n_v: int = Field(4, ge=1)
    half_life_days: float = Field(90.0, gt=0)
    board_entropy_prune_quantile: float = Field(0.99, gt=0, le=1)
    filter_saved: bool = True
    seed: int = 0
    max_k: int = Field(500, ge=1, le=10_000, description="largest k a related/feed request may ask for")
    max_query_pins: int = Field(50, ge=1, le=10_000, description="most recent engaged pins a feed walks from")
    walk_lanes: int = Field(16, ge=1, le=256, description="walks run interleaved per query pin (speed only)")
    recency_half_life: float = Field(
        4.0, gt=0, description="a query pin's weight halves every this many newer actions (order, not clock time)"
    )
    include_users: bool = Field(True, description="users' engagement histories are graph nodes too")
    feature_bias: float = Field(0.5, ge=0, lt=1, description="chance to skip a pin off the user's features")
    content_exact_below: int = Field(
        100_000, ge=0, description="look-alike pins by exact scan below this many pins, by a faiss IVF index above"
    )
    content_nprobe: int = Field(16, ge=1, le=65_536, description="IVF lists probed per look-alike query")
    degree_penalty: float = Field(0.0, ge=0, le=2, description="divide walk scores by degree^this")
    n_interests: int = Field(3, ge=1, le=50, description="taste-profile interests sampled per request")
    max_interests: int = Field(8, ge=1, le=100)
    profile_blend: float = Field(0.3, ge=0, le=1, description="weight of taste-profile similarity")
    profile_embeddings: bool = Field(
        True, description="cluster taste profiles on the search index's vectors when a vectors snapshot exists"
    )
    profile_score: Literal["medoid", "members"] = Field(
        "members", description="interest affinity: cosine to the medoid, or mean cosine to the members"
    )
