"""Learned ranking: the sequence model, the LambdaMART blend, experiments, and shop the look."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class SequenceSettings(BaseModel):
    """The sequence-model candidate source (`moodboard train sequence`, issue 14)."""

    max_len: int = Field(200, ge=2, le=4096, description="newest engagements the model reads per user")
    d_model: int = Field(64, ge=8, le=1024)
    n_layers: int = Field(2, ge=1, le=12)
    n_heads: int = Field(2, ge=1, le=16)
    dropout: float = Field(0.2, ge=0, lt=1)
    objective: Literal["next_item", "all_action"] = "next_item"
    all_action_window: int = Field(8, ge=1, le=256, description="future actions predicted under all_action")
    use_content: bool = Field(True, description="add the pins' content embeddings (vectors snapshot) to ids")
    mask_seen: bool = Field(True, description="leave a user's engaged pins out of the training softmax")
    shuffle_ties: bool = Field(True, description="reorder same-timestamp engagements at random in training")
    epochs: int = Field(200, ge=1, le=10_000)
    batch_size: int = Field(128, ge=1, le=8192)
    lr: float = Field(1e-3, gt=0, le=1)
    eval_every: int = Field(10, ge=1)
    patience: int = Field(4, ge=1)
    seed: int = 0


class RankerSettings(BaseModel):
    """The learned blend (LightGBM LambdaMART, `moodboard train ranker`, issue 14)."""

    n_estimators: int = Field(300, ge=1, le=100_000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2, le=4096)
    min_child_samples: int = Field(20, ge=1)
    candidates_per_source: int = Field(100, ge=1, le=10_000)
    seed: int = 0


class ExperimentArm(BaseModel):
    """One arm of an experiment and its share of traffic."""

    name: str = Field(min_length=1, max_length=64)
    share: float = Field(gt=0, le=1)


class ExperimentSettings(BaseModel):
    """The running experiment: users are bucketed by a hash of (salt, user id) into arms (issue 14)."""

    name: str = Field("", description="empty = no experiment; every user gets the first arm")
    salt: str = Field("", description="changing it reshuffles users; defaults to the experiment name")
    arms: list[ExperimentArm] = Field(
        default_factory=lambda: [ExperimentArm(name="control", share=0.5), ExperimentArm(name="treatment", share=0.5)]
    )

    @model_validator(mode="after")
    def _check_arms(self) -> ExperimentSettings:
        if not self.arms:
            raise ValueError("experiment.arms must name at least one arm")
        if len({a.name for a in self.arms}) != len(self.arms):
            raise ValueError("experiment.arms must have distinct names")
        if abs(sum(a.share for a in self.arms) - 1.0) > 1e-6:
            raise ValueError("experiment.arms shares must sum to 1")
        return self


class LookSettings(BaseModel):
    """Shop the look (`POST /search/look`): region proposals and per-region search."""

    detector: str = Field(
        "classical", description="region proposer: classical, whole, a registered name or `module:factory`"
    )
    max_regions: int = Field(10, ge=1, le=32, description="regions searched per photo, the whole image included")
    per_region_k: int = Field(50, ge=1, le=1000, description="results retrieved per region before the merge")
    category_filter: bool = Field(
        False,
        description="search each region again within the category its top results vote for (off: a wrong vote "
        "drops the region's product; it lowered Recall@100 on every composite set, BENCHMARKS.md)",
    )
    vote_depth: int = Field(10, ge=1, le=1000, description="top results of a region that vote for its category")
    min_vote_share: float = Field(0.5, ge=0, le=1, description="vote share a category needs to become the filter")
    work_side: int = Field(
        1280,
        ge=64,
        le=16384,
        description="longest side a photo is reduced to (by an integer factor) before "
        "proposals and crops; boxes are reported in the photo's own pixels",
    )
    match_depth: int = Field(
        5, ge=1, le=100, description="top results whose mean similarity weights a region in the merged list"
    )
    assistant_regions: bool = Field(
        True, description="an assistant photo turn also answers the photo region by region when it shows a scene"
    )
    assistant_region_k: int = Field(8, ge=1, le=100, description="products listed per region in an assistant reply")
