"""One typed `Settings` object, read from `MOODBOARD_*` variables and an optional TOML file.

Nested sections are set with a double underscore, e.g. `MOODBOARD_INGEST__MAX_PIXELS=50000000`.
A TOML file named by `MOODBOARD_CONFIG` (or passed to `load_settings`) is read first; variables win.
Components receive only their own section; nothing reads settings globally.

Each section lives in the module of its concern (`storage`, `embed`, `index`, `graph`, `serving`,
`assistant`, `ranking`, `jobs`); all are importable from here, and the names operators set (env
variables, TOML keys) are the field names, unchanged by where a section's class is defined.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from moodboard.core.errors import ConfigError
from moodboard.core.layout import HomeLayout
from moodboard.core.settings.assistant import AssistantSettings
from moodboard.core.settings.embed import EmbedSettings
from moodboard.core.settings.graph import GraphSettings
from moodboard.core.settings.index import IndexSettings, MilvusSettings
from moodboard.core.settings.jobs import JobsSettings
from moodboard.core.settings.ranking import (
    ExperimentArm,
    ExperimentSettings,
    LookSettings,
    RankerSettings,
    SequenceSettings,
)
from moodboard.core.settings.serving import ApiSettings, ServeSettings
from moodboard.core.settings.storage import DatabaseSettings, IngestSettings

__all__ = [
    "ApiSettings",
    "AssistantSettings",
    "DatabaseSettings",
    "EmbedSettings",
    "ExperimentArm",
    "ExperimentSettings",
    "GraphSettings",
    "IndexSettings",
    "IngestSettings",
    "JobsSettings",
    "LookSettings",
    "MilvusSettings",
    "RankerSettings",
    "SequenceSettings",
    "ServeSettings",
    "Settings",
    "load_settings",
]

_config_file: ContextVar[str | None] = ContextVar("moodboard_config_file", default=None)


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
    def layout(self) -> HomeLayout:
        """Every path under the home (`core/layout.py`)."""
        return HomeLayout(self.home)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the catalog store (SQLite under home by default)."""
        return self.database.url or f"sqlite:///{self.layout.catalog_db.resolve()}"

    @property
    def thumbnails_dir(self) -> Path:
        """Folder for generated thumbnails."""
        return self.layout.thumbnails

    @property
    def snapshots_dir(self) -> Path:
        """Folder for versioned snapshots (vectors, indexes, graphs, models)."""
        return self.layout.snapshots

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
