"""`train align`'s feature extraction on the job runner: resumable partitions, identical on local and Ray."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodboard.core.settings import JobsSettings
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.lite import lite_towers
from moodboard.jobs.pair_features import (
    PairFeatures,
    PairItem,
    PairMapperFactory,
    extract_pair_features,
    pair_work_url,
)
from moodboard.jobs.runner import LocalRunner, PartitionStore, make_partitions
from tests.embed.conftest import COLOURS, SHAPES, make_image


@pytest.fixture(scope="module")
def towers() -> Any:
    return lite_towers("cpu")


@pytest.fixture
def pairs(tmp_path: Path) -> list[PairItem]:
    """12 shape images and one file that is no image (its pair fails and is reported, not fatal)."""
    items = []
    for i, (colour, shape) in enumerate((c, s) for c in COLOURS for s in SHAPES):
        path = tmp_path / f"{i}.png"
        make_image(colour, shape).save(path)
        items.append(PairItem(str(i), str(path), (f"{colour} {shape} print", f"{colour} {shape}", shape), shape))
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    items.insert(5, PairItem("broken", str(broken), ("broken",), ""))
    return items


def _same(a: PairFeatures, b: PairFeatures) -> None:
    assert [it.key for it in a.items] == [it.key for it in b.items]
    np.testing.assert_array_equal(a.images, b.images)
    for x, y in zip(a.texts, b.texts, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.failed == b.failed


def test_partitions_keep_item_order_and_a_rerun_reuses_finished_ones(
    pairs: list[PairItem], towers: Any, tmp_path: Path
) -> None:
    fresh = extract_pair_features(pairs, *towers, None, batch_size=4, workers=1, partition_size=5)
    assert [it.key for it in fresh.items] == [it.key for it in pairs if it.key != "broken"]
    assert set(fresh.failed) == {"broken"} and fresh.images.shape == (12, towers[0].dim)
    assert fresh.partitions_computed == [0, 1, 2] and fresh.computed == 12
    # a killed run left partition 0 done: the rerun computes only the others and gives the same features
    work = str(tmp_path / "work")
    store = PartitionStore(pair_work_url(work, towers[0].tower_id, towers[1].tower_id, 5))
    factory = PairMapperFactory(towers, None, None, 4, 1)
    LocalRunner().run(make_partitions(pairs, 5)[:1], factory, store)
    resumed = extract_pair_features(pairs, *towers, None, batch_size=4, workers=1, partition_size=5, work_url=work)
    assert resumed.partitions_reused == [0] and resumed.partitions_computed == [1, 2]
    _same(fresh, resumed)
    assert not Path(store.root).exists()  # gathered partitions are deleted


def test_ray_actors_extract_the_same_features_bit_for_bit(
    pairs: list[PairItem], towers: Any, tmp_path: Path, ray_cluster: Any
) -> None:
    from moodboard.jobs.ray_runner import RayRunner

    ray_runner = RayRunner(JobsSettings(runner="ray", ray_actors=2))
    remote_args: dict[str, Any] = {
        "runner": ray_runner,
        "work_url": str(tmp_path / "work"),
        "tower_factory": partial(lite_towers, "cpu"),  # each actor loads its own towers
    }
    local = extract_pair_features(pairs, *towers, None, batch_size=4, workers=1, partition_size=5)
    remote = extract_pair_features(pairs, *towers, None, batch_size=4, workers=1, partition_size=5, **remote_args)
    _same(local, remote)
    # With the shared feature cache, the actors write what they compute and this process reads it back.
    # A text several pairs share ("circle") is computed once, in whichever partition's batch ran first;
    # the text tower pads a batch to its longest text, so a cached row can differ from a fresh one in
    # the last bits (< 1e-5), which is why this half compares with a tolerance.
    cache = FeatureCache(tmp_path / "features.sqlite")
    cached = extract_pair_features(pairs, *towers, cache, batch_size=4, workers=1, partition_size=5, **remote_args)
    assert cached.computed == 12
    again = extract_pair_features(pairs, *towers, cache, batch_size=4, workers=1, partition_size=5)
    assert again.computed == 0
    for got in (cached, again):
        assert [it.key for it in got.items] == [it.key for it in local.items]
        np.testing.assert_allclose(got.images, local.images, atol=1e-5)
        for x, y in zip(got.texts, local.texts, strict=True):
            np.testing.assert_allclose(x, y, atol=1e-5)
