"""The content-hash feature cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodboard.embed.feature_cache import FeatureCache, content_hash, text_hash
from moodboard.embed.features import text_features


class CountingTower:
    """A text tower that counts what it computes."""

    tower_id = "count:with:colons:v1"  # colons in ids must not break key parsing (regression)
    dim = 3
    groups = (("all", 3),)

    def __init__(self) -> None:
        self.seen: list[str] = []

    def features(self, texts: list[str]) -> np.ndarray:
        self.seen += list(texts)
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


def test_put_get_roundtrip(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "f.sqlite")
    v = np.arange(5, dtype=np.float32)
    cache.put_many("t:x", [("abc", v)])
    got = cache.get_many("t:x", ["abc", "missing"])
    assert set(got) == {"abc"}
    np.testing.assert_array_equal(got["abc"], v)
    assert cache.get_many("other", ["abc"]) == {}
    assert cache.count("t:x") == 1 and cache.count() == 1


def test_persistent_across_opens(tmp_path: Path) -> None:
    FeatureCache(tmp_path / "f.sqlite").put_many("t", [("d", np.ones(2, dtype=np.float32))])
    assert "d" in FeatureCache(tmp_path / "f.sqlite").get_many("t", ["d"])


def test_only_new_items_are_computed(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "f.sqlite")
    tower = CountingTower()
    a = text_features(tower, ["banana", "kiwi"], cache)
    assert tower.seen == ["banana", "kiwi"]
    b = text_features(tower, ["kiwi", "banana", "apple"], cache)
    assert tower.seen == ["banana", "kiwi", "apple"]
    np.testing.assert_array_equal(a[[1, 0]], b[:2])


def test_hashes_are_content_hashes() -> None:
    assert content_hash(b"x") == content_hash(b"x") != content_hash(b"y")
    assert text_hash("é") == content_hash("é".encode())
