"""Settings split by concern still read an operator's config exactly as the single module did.

`golden/operator_settings.json` is the full `model_dump` the pre-split `core/settings.py` produced from
`golden/operator_config.toml` plus the environment variables below; every value in it must load the
same (fields added since then are allowed, a renamed or moved one is not).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from moodboard.core import settings as settings_pkg
from moodboard.core.settings import Settings, load_settings

GOLDEN = Path(__file__).parent / "golden"
ENV = {
    "MOODBOARD_GRAPH__N_P": "123",
    "MOODBOARD_INDEX__MILVUS__INSERT_BATCH": "777",
    "MOODBOARD_API__PORT": "9100",  # wins over the file's 9000
    "MOODBOARD_JOBS__RUNNER": "ray",
}


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out |= _leaves(value, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix: tree}


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the variables of this test are set."""
    for name in [n for n in os.environ if n.startswith("MOODBOARD_")]:
        monkeypatch.delenv(name)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("operator_env")
def test_an_existing_config_file_and_env_vars_load_identically() -> None:
    """Every field the pre-split settings had loads the same value from the same file and variables."""
    got = _leaves(load_settings(GOLDEN / "operator_config.toml").model_dump(mode="json"))
    want = _leaves(json.loads((GOLDEN / "operator_settings.json").read_text()))
    assert {k: got.get(k, "<missing>") for k in want} == want
    assert (got["api.port"], got["graph.n_p"], got["ingest.default_currency"]) == (9100, 123, "EUR")


@pytest.mark.usefixtures("operator_env")
def test_the_config_file_is_really_read() -> None:
    """The comparison above fails when the file is not read (so it can fail)."""
    defaults = _leaves(load_settings().model_dump(mode="json"))
    want = _leaves(json.loads((GOLDEN / "operator_settings.json").read_text()))
    assert defaults["index.backend"] != want["index.backend"]


def test_every_section_is_importable_from_the_settings_package() -> None:
    """Callers keep `from moodboard.core.settings import XSettings`; each section class has one home."""
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and section.__name__.endswith("Settings"):
            assert getattr(settings_pkg, section.__name__) is section, name
            assert section.__module__.startswith("moodboard.core.settings."), section.__module__
