"""The milvus backend end to end: `moodboard index` + `search` on the tiny catalog, and awkward values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from moodboard.core.errors import ConfigError, InvalidInputError, SnapshotError
from moodboard.core.settings import IndexSettings
from moodboard.index.attributes import ItemAttrs, parse_filter
from moodboard.index.milvus_filters import MAX_VALUES
from moodboard.index.vector_index import load_vector_index, make_index, save_vector_index

pytest.importorskip("pymilvus", reason="pymilvus is not installed: pip install 'moodboard[milvus]'")


def _settings(tmp_path: Path) -> IndexSettings:
    return IndexSettings(backend="milvus", milvus={"uri": str(tmp_path / "milvus.db")})


def test_index_and_search_through_the_cli(tiny_catalog: Path, tmp_path: Path) -> None:
    from moodboard.cli.main import build_app

    env = {
        "MOODBOARD_HOME": str(tmp_path / "home"),
        "MOODBOARD_EMBED__BACKEND": "fake",
        "MOODBOARD_EMBED__DIM": "32",
        "MOODBOARD_INGEST__WORKERS": "1",
        "MOODBOARD_INDEX__BACKEND": "milvus",
        "MOODBOARD_INDEX__MILVUS__URI": str(tmp_path / "milvus.db"),
    }
    cli = CliRunner()
    assert cli.invoke(build_app(), ["ingest", str(tiny_catalog)], env=env).exit_code == 0
    indexed = cli.invoke(build_app(), ["index", "--json"], env=env)
    assert indexed.exit_code == 0, (indexed.stdout[-2000:], indexed.exception)
    assert json.loads(indexed.stdout)["count"] == 18
    found = cli.invoke(build_app(), ["search", "print", "-f", "color=green", "--json", "-k", "18"], env=env)
    assert found.exit_code == 0, (found.stdout[-2000:], found.exception)
    results = json.loads(found.stdout)["results"]
    assert len(results) == 3 and all(r["title"].startswith("Green") for r in results)


def test_quotes_and_backslashes_in_values_are_matched_literally(tmp_path: Path) -> None:
    index = make_index(_settings(tmp_path), 4, "m")
    odd = ['O"Neil', "back\\slash", "it's"]
    index.add(np.arange(3), np.eye(4, dtype=np.float32)[:3], [ItemAttrs(merchant=m) for m in odd])
    for i, m in enumerate(odd):
        ids, _ = index.search(np.ones((1, 4), dtype=np.float32) / 2, 3, parse_filter({"merchant": m}))
        assert ids[0].tolist() == [i, -1, -1]


def test_missing_price_fails_every_price_bound(tmp_path: Path) -> None:
    index = make_index(_settings(tmp_path), 4, "m")
    index.add(np.arange(2), np.eye(4, dtype=np.float32)[:2], [ItemAttrs(price=5.0), ItemAttrs()])
    assert index.count_allowed(parse_filter({"price_max": 10})) == 1
    assert index.count_allowed(parse_filter({"price_min": 0})) == 1


def test_misconfiguration_and_dropped_collection_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"milvus\.uri"):
        make_index(IndexSettings(backend="milvus"), 4, "m")
    index = make_index(_settings(tmp_path), 4, "m")
    save_vector_index(index, tmp_path / "snap")
    index.drop()  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="does not exist"):
        load_vector_index(tmp_path / "snap", _settings(tmp_path))


def test_attribute_fields_added_by_one_client_are_known_to_another(tmp_path: Path) -> None:
    """Field names live in the collection's properties: an API replica attached earlier learns new ones."""
    writer = make_index(_settings(tmp_path), 4, "m")
    save_vector_index(writer, tmp_path / "snap")
    reader = load_vector_index(tmp_path / "snap", _settings(tmp_path))
    writer.add(
        np.arange(2), np.eye(4, dtype=np.float32)[:2], [ItemAttrs(extra={"material": ("wood", "jade")}), ItemAttrs()]
    )
    flt = parse_filter({"attributes": {"material": ["jade"]}})
    assert reader.count_allowed(flt) == 1
    assert reader.facet_counts(np.arange(2), ["material"]) == {"material": {"wood": 1, "jade": 1}}


def test_too_many_values_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    index = make_index(_settings(tmp_path), 4, "m")
    many = ItemAttrs(color=tuple(f"c{i}" for i in range(MAX_VALUES + 1)))
    with pytest.raises(InvalidInputError, match="at most"):
        index.add(np.arange(2), np.eye(4, dtype=np.float32)[:2], [ItemAttrs(color="red"), many])
    assert len(index) == 0


def test_a_collection_from_the_one_value_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    """Regression: collections built before multi-valued attributes hold VARCHAR fields; filters would fail."""
    index = make_index(_settings(tmp_path), 4, "m")
    save_vector_index(index, tmp_path / "snap")
    index._client.alter_collection_properties(index.collection, properties={"moodboard.schema": "1"})  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match="older moodboard"):
        load_vector_index(tmp_path / "snap", _settings(tmp_path))
