"""One typed `Settings` object, read from `MOODBOARD_*` variables and an optional TOML file.

Nested sections are set with a double underscore, e.g. `MOODBOARD_INGEST__MAX_PIXELS=50000000`.
A TOML file named by `MOODBOARD_CONFIG` (or passed to `load_settings`) is read first; variables win.
Components receive only their own section; nothing reads settings globally.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from moodboard.core.errors import ConfigError

_config_file: ContextVar[str | None] = ContextVar("moodboard_config_file", default=None)


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


class EmbedSettings(BaseModel):
    """Which embedding model to use and how to run it."""

    backend: Literal["lite", "open_clip", "fake"] = "lite"
    model: str = "ViT-B-32"
    pretrained: str = "laion2b_s34b_b79k"
    checkpoint: str = ""
    device: Literal["auto", "cpu", "cuda", "mps", "neuron"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    dim: int = Field(256, ge=8, le=4096, description="output dimension of the lite adapters")
    aligner_version: str = Field("", description="aligner snapshot to use; empty = the current one")
    open_clip_adapter: bool = Field(False, description="apply a trained aligner on top of open_clip")
    feature_cache: bool = Field(True, description="cache frozen-tower features by content hash")
    workers: int = Field(0, ge=0, le=256, description="image decode threads; 0 = number of CPUs")
    runtime: Literal["torch", "onnx"] = Field(
        "onnx", description="what runs the lite towers on the CPU: ONNX Runtime (faster, see BENCHMARKS.md) or torch"
    )
    onnx_cache: str = Field(
        "", description="folder of the exported ONNX towers; empty = $XDG_CACHE_HOME/moodboard/onnx (or ~/.cache)"
    )


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
    milvus: MilvusSettings = Field(default_factory=MilvusSettings)


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
    dev_mode: bool = True
    secret_key: str = Field("", description="signs shopper tokens; generated under home in dev mode")
    token_ttl_s: int = Field(7 * 24 * 3600, ge=60)
    metrics_public: bool = True
    warm_up: bool = Field(
        True, description="`serve` loads index, model, graph and assistant in the background at start"
    )


class AssistantSettings(BaseModel):
    """Conversation behaviour and the optional OpenAI-compatible LLM backend."""

    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = Field(8.0, gt=0, le=120)
    max_message_chars: int = Field(4000, ge=16)


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
    max_regions: int = Field(6, ge=1, le=32, description="regions searched per photo, the whole image included")
    per_region_k: int = Field(50, ge=1, le=1000, description="results retrieved per region before the merge")
    category_filter: bool = Field(
        True, description="search each region again within the category its top results vote for"
    )
    vote_depth: int = Field(10, ge=1, le=1000, description="top results of a region that vote for its category")
    min_vote_share: float = Field(0.5, ge=0, le=1, description="vote share a category needs to become the filter")


class JobsSettings(BaseModel):
    """How batch jobs run: in this process or on Ray, and where their partitioned, resumable output goes."""

    runner: Literal["local", "ray"] = Field("local", description="local = this process; ray = Ray Data actors")
    partition_size: int = Field(1000, ge=1, le=10_000_000, description="items per resumable output partition")
    work_url: str = Field("", description="fsspec URL of partitioned job output (s3://...); empty = <home>/jobs")
    ray_address: str = Field("", description="Ray cluster to join (auto, ray://host:10001); empty = start a local one")
    ray_cpus: int = Field(0, ge=0, le=4096, description="CPUs of a locally started Ray; 0 = all")
    ray_actors: int = Field(2, ge=1, le=10_000, description="actors in the pool that maps partitions")
    ray_cpus_per_actor: float = Field(1.0, gt=0, le=256)
    ray_gpus_per_actor: float = Field(0.0, ge=0, le=16)
    worker_threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="torch CPU threads per mapper; 0 = local: torch's default, a local Ray: the same as this "
        "process, a Ray cluster: Ray's default (CPU results differ in the last bit between thread counts)",
    )


class ServeSettings(BaseModel):
    """How `moodboard serve` runs: worker processes, torch threads per worker, the bounded model pool."""

    workers: int = Field(0, ge=0, le=64, description="worker processes; 0 = one per CPU core (at most 8)")
    torch_threads: int = Field(0, ge=0, le=256, description="torch threads per worker; 0 = cores / workers (>= 1)")
    model_concurrency: int = Field(
        0, ge=0, le=64, description="photo decodes/embeddings and photo turns at once per worker; 0 = torch threads"
    )
    log_requests: bool = Field(True, description="one JSON log line per request")
    backlog: int = Field(2048, ge=16, le=65_535, description="listen backlog of the server socket")
    rate_limit_file: str = Field(
        "", description="shared-memory file of the rate limiter (set by `serve` for its workers; empty = per process)"
    )


class Settings(BaseSettings):
    """All moodboard settings. Build with `load_settings()`; pass sections down explicitly."""

    model_config = SettingsConfigDict(
        env_prefix="MOODBOARD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    home: Path = Path(".moodboard")
    data_dir: Path | None = Field(None, description="shared real datasets (read-only), e.g. ../shared/data")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    assistant: AssistantSettings = Field(default_factory=AssistantSettings)
    sequence: SequenceSettings = Field(default_factory=SequenceSettings)
    ranker: RankerSettings = Field(default_factory=RankerSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)
    look: LookSettings = Field(default_factory=LookSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read init kwargs, then environment, then the TOML file named by MOODBOARD_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_file.get() or os.environ.get("MOODBOARD_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @field_validator("home")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return v.expanduser()

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        local = self.api.host in {"127.0.0.1", "localhost", "::1"}
        if not self.api.dev_mode and not self.api.api_keys:
            raise ValueError(
                "api.dev_mode is off but no api.api_keys are set: set MOODBOARD_API__API_KEYS='[\"<key>\"]'"
            )
        if not local and self.api.dev_mode:
            raise ValueError(
                f"refusing to serve on {self.api.host} in dev mode (no auth on writes): "
                "set MOODBOARD_API__DEV_MODE=false and MOODBOARD_API__API_KEYS"
            )
        if any(len(k) < 16 for k in self.api.api_keys):
            raise ValueError("every api key must be at least 16 characters long")
        if not self.api.dev_mode and len(self.api.secret_key) < 32:
            raise ValueError(
                "api.secret_key must be at least 32 characters outside dev mode: set MOODBOARD_API__SECRET_KEY"
            )
        return self

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the catalog store (SQLite under home by default)."""
        return self.database.url or f"sqlite:///{(self.home / 'catalog.db').resolve()}"

    @property
    def thumbnails_dir(self) -> Path:
        """Folder for generated thumbnails."""
        return self.home / "thumbnails"

    @property
    def snapshots_dir(self) -> Path:
        """Folder for versioned snapshots (vectors, indexes, graphs, models)."""
        return self.home / "snapshots"

    def ensure_home(self) -> Path:
        """Create the data directory tree if needed and return it."""
        for d in (self.home, self.thumbnails_dir, self.snapshots_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self.home


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from overrides, environment and an optional TOML file.

    Raises:
        ConfigError: when a value is invalid or unsafe; the message names the setting.
    """
    from pydantic import ValidationError

    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} not found", "pass an existing TOML file")
    token = _config_file.set(str(config_file) if config_file is not None else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"invalid setting {loc}: {first['msg']}",
            f"fix MOODBOARD_{loc.upper().replace('.', '__')} or the config file",
        ) from exc
    finally:
        _config_file.reset(token)
