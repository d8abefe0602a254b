"""Settings: defaults, nested environment variables, TOML files and fail-fast validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodboard.core.errors import ConfigError
from moodboard.core.settings import load_settings


def test_defaults_put_everything_under_home(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path / "h")
    assert s.database_url == f"sqlite:///{(tmp_path / 'h' / 'catalog.db').resolve()}"
    assert s.thumbnails_dir == tmp_path / "h" / "thumbnails"
    assert s.snapshots_dir == tmp_path / "h" / "snapshots"


def test_nested_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODBOARD_HOME", str(tmp_path))
    monkeypatch.setenv("MOODBOARD_INGEST__MAX_PIXELS", "1234")
    monkeypatch.setenv("MOODBOARD_API__API_KEYS", '["0123456789abcdef0"]')
    s = load_settings()
    assert (s.home, s.ingest.max_pixels, s.api.api_keys) == (tmp_path, 1234, ["0123456789abcdef0"])


def test_toml_file_with_environment_taking_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "moodboard.toml"
    cfg.write_text('home = "/srv/mb"\n[ingest]\nbatch_size = 77\nthumbnail_px = 300\n')
    monkeypatch.delenv("MOODBOARD_CONFIG", raising=False)
    monkeypatch.setenv("MOODBOARD_INGEST__THUMBNAIL_PX", "128")
    s = load_settings(cfg)
    assert (str(s.home), s.ingest.batch_size, s.ingest.thumbnail_px) == ("/srv/mb", 77, 128)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"ingest": {"batch_size": 0}}, "ingest.batch_size"),
        ({"embed": {"device": "tpu"}}, "embed.device"),
        ({"colour": 1}, "colour"),
    ],
)
def test_invalid_values_name_the_setting(tmp_path: Path, overrides: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(home=tmp_path, **overrides)
    assert words in err.value.message and "MOODBOARD_" in err.value.hint


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_every_path_under_the_home_comes_from_one_layout(tmp_path: Path) -> None:
    # review §1.9: the home's layout was decided in five places
    from moodboard.core.layout import HomeLayout

    settings = load_settings(home=tmp_path / "home")
    layout = settings.layout
    assert layout == HomeLayout.of_snapshots(settings.snapshots_dir)
    assert settings.thumbnails_dir == layout.thumbnails and settings.snapshots_dir == layout.snapshots
    assert settings.database_url.endswith(str(layout.catalog_db))
    paths = [getattr(layout, name) for name in dir(HomeLayout) if isinstance(getattr(HomeLayout, name), property)]
    assert len(set(paths)) == len(paths) and all(p.is_relative_to(layout.home) for p in paths)
