"""The offline `lite` backend: needs a trained aligner, and the trained one does its job."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.core.errors import SnapshotError
from moodboard.core.settings import EmbedSettings
from moodboard.embed import make_embedder
from moodboard.embed.aligner import Aligner, AlignerConfig, AlignerSpec, build_heads
from moodboard.jobs.align_job import write_aligner


def test_lite_without_aligner_says_to_train(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError) as err:
        make_embedder(EmbedSettings(backend="lite"), tmp_path / "snapshots")
    assert "moodboard train align" in err.value.hint


def test_lite_refuses_aligner_of_other_towers(tmp_path: Path) -> None:
    spec = AlignerSpec(AlignerConfig(dim=8, hidden=8), "some-other-image-tower", "other-text", 4, 4)
    write_aligner(tmp_path, Aligner(spec, build_heads(spec)), {})
    with pytest.raises(SnapshotError, match="trained on towers"):
        make_embedder(EmbedSettings(backend="lite"), tmp_path)


def test_lite_unknown_aligner_version(lite_snapshots: Path) -> None:
    with pytest.raises(SnapshotError, match="not found"):
        make_embedder(EmbedSettings(backend="lite", aligner_version="nope"), lite_snapshots)


def test_trained_lite_matches_captions_to_images(
    lite_snapshots: Path, shape_pairs: list[tuple[Image.Image, str]]
) -> None:
    emb = make_embedder(EmbedSettings(backend="lite", device="cpu"), lite_snapshots)
    assert emb.model_id.startswith("lite:") and emb.dim == 32 + 8  # joint space + image-only block
    zi = emb.embed_images([im for im, _ in shape_pairs])
    zt = emb.embed_texts([t for _, t in shape_pairs])
    top1 = (zt @ zi.T).argmax(axis=1)
    # the aligner was trained on these 12 pairs: each caption must find its own image
    assert (top1 == np.arange(len(shape_pairs))).mean() >= 0.9


def test_feature_cache_makes_reruns_cheap(lite_snapshots: Path, shape_pairs: list[tuple[Image.Image, str]]) -> None:
    from moodboard.embed.aligned import TowerEmbedder
    from moodboard.embed.lite import feature_cache_path

    emb = make_embedder(EmbedSettings(backend="lite", device="cpu"), lite_snapshots)
    assert isinstance(emb, TowerEmbedder) and emb.cache is not None
    first = emb.embed_images([im for im, _ in shape_pairs[:3]])
    tower = emb.image_tower
    calls = []
    original = tower.features
    tower.features = lambda batch: calls.append(len(batch)) or original(batch)  # type: ignore[method-assign]
    again = emb.embed_images([im for im, _ in shape_pairs[:3]])
    assert calls == []  # every image came from the cache
    np.testing.assert_allclose(first, again, atol=1e-6)
    assert feature_cache_path(lite_snapshots).is_file()


def test_a_burst_of_first_requests_loads_each_tower_once() -> None:
    # regression (issue 12): a fresh server's first burst of requests each loaded the text model
    import threading
    import time

    from moodboard.embed.aligned import TowerEmbedder

    loads = {"image": 0, "text": 0}

    def loader(kind: str) -> object:
        loads[kind] += 1
        time.sleep(0.05)  # a slow load, so the threads really overlap
        return object()

    emb = TowerEmbedder("m", 8, lambda: loader("image"), lambda: loader("text"))  # type: ignore[arg-type,return-value]
    start = threading.Barrier(8)

    def first_request() -> None:
        start.wait()
        assert emb.text_tower is emb.text_tower and emb.image_tower is not None

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == {"image": 1, "text": 1}
