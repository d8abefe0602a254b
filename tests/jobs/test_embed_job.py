"""The embedding job: batched, parallel decoding, content-hash cache, versioned vector snapshot."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.catalog.images import ImageLimits, open_checked, process_image_file
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.snapshot import current_snapshot, read_manifest
from moodboard.embed.aligned import TowerEmbedder
from moodboard.embed.fake import FakeEmbedder
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.vectors import current_vectors
from moodboard.jobs.embed_job import prefetch_map, read_pins, run_embed_job

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 30), (20, 20, 20), (150, 40, 170)]


def _write_images(folder: Path, n: int, offset: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(offset, offset + n):
        img = Image.new("RGB", (64 + i, 48), (255, 255, 255))
        img.paste(COLOURS[i % len(COLOURS)], (8, 8, 40, 40))
        path = folder / f"img{i}.png"
        img.save(path)
        paths.append(path)
    return paths


def _add(store: CatalogStore, paths: list[Path], thumbs: Path) -> None:
    pins = []
    for p in paths:
        image = process_image_file(p, ImageLimits(), thumbs)
        pins.append(NewPin(external_id=p.stem, title=f"item {p.stem}", source_uri=str(p), image=image))
    store.add_pins(pins)


@pytest.fixture()
def catalog(tmp_path: Path) -> tuple[CatalogStore, Path]:
    store = CatalogStore.open(f"sqlite:///{tmp_path / 'catalog.db'}")
    thumbs = tmp_path / "thumbs"
    _add(store, _write_images(tmp_path / "images", 7), thumbs)
    yield store, thumbs
    store.close()


def test_job_writes_versioned_snapshot_with_manifest(catalog: tuple[CatalogStore, Path], tmp_path: Path) -> None:
    store, thumbs = catalog
    emb = FakeEmbedder(dim=16)
    items = list(read_pins(store, thumbs))
    snaps = tmp_path / "snapshots"
    res = run_embed_job(items, emb, snaps, cache=FeatureCache(tmp_path / "v.sqlite"), batch_size=3, workers=2)
    assert (res.total, res.embedded, res.cached, res.failed) == (7, 7, 0, {})
    assert current_snapshot(snaps, "vectors") == res.snapshot
    manifest = read_manifest(res.snapshot)
    assert manifest["model_id"] == emb.model_id
    assert manifest["counts"] == {"total": 7, "embedded": 7, "cached": 0, "failed": 0}
    assert manifest["count"] == 7 and manifest["dim"] == 16
    ids, vecs, _ = current_vectors(snaps)
    assert sorted(ids.tolist()) == sorted(it.pin_id for it in items)
    # the job's vectors are exactly what the embedder gives for the decoded image
    by_id = {it.pin_id: it for it in items}
    first = open_checked(Path(by_id[int(ids[0])].path).read_bytes(), ImageLimits()).image
    np.testing.assert_allclose(vecs[0], emb.embed_images([first])[0], atol=1e-6)


def test_rerun_embeds_nothing_new(catalog: tuple[CatalogStore, Path], tmp_path: Path) -> None:
    store, thumbs = catalog
    emb, cache, snaps = FakeEmbedder(dim=16), FeatureCache(tmp_path / "v.sqlite"), tmp_path / "snapshots"
    first = run_embed_job(list(read_pins(store, thumbs)), emb, snaps, cache=cache, batch_size=4)
    calls: list[int] = []
    original = emb.embed_images
    emb.embed_images = lambda images: calls.append(len(images)) or original(images)  # type: ignore[method-assign]
    again = run_embed_job(list(read_pins(store, thumbs)), emb, snaps, cache=cache, batch_size=4)
    assert (again.embedded, again.cached) == (0, 7)
    assert sum(calls) == 0
    assert again.snapshot != first.snapshot  # a new immutable version
    np.testing.assert_array_equal(np.load(first.snapshot / "vectors.npy"), np.load(again.snapshot / "vectors.npy"))
    # one new pin: only it is embedded
    _add(store, _write_images(tmp_path / "images", 1, offset=7), thumbs)
    third = run_embed_job(list(read_pins(store, thumbs)), emb, snaps, cache=cache, batch_size=4)
    assert (third.total, third.embedded, third.cached) == (8, 1, 7)
    assert sum(calls) == 1


def test_other_model_does_not_reuse_cache(catalog: tuple[CatalogStore, Path], tmp_path: Path) -> None:
    store, thumbs = catalog
    cache, snaps = FeatureCache(tmp_path / "v.sqlite"), tmp_path / "snapshots"
    run_embed_job(list(read_pins(store, thumbs)), FakeEmbedder(dim=16), snaps, cache=cache)
    res = run_embed_job(list(read_pins(store, thumbs)), FakeEmbedder(dim=8), snaps, cache=cache)
    assert (res.embedded, res.cached, res.dim) == (7, 0, 8)


def test_bad_image_is_reported_not_fatal(catalog: tuple[CatalogStore, Path], tmp_path: Path) -> None:
    store, thumbs = catalog
    items = list(read_pins(store, thumbs))
    Path(items[2].path).write_bytes(b"<html>not an image</html>")
    res = run_embed_job(items, FakeEmbedder(dim=16), tmp_path / "snapshots", cache=None, batch_size=2)
    assert set(res.failed) == {items[2].pin_id}
    assert "not a recognised image" in res.failed[items[2].pin_id]
    ids, _vecs, manifest = current_vectors(tmp_path / "snapshots")
    assert len(ids) == 6 and items[2].pin_id not in ids.tolist()
    assert manifest["counts"]["failed"] == 1


class _TinyTower:
    """A frozen 'tower' that averages colour: prepare runs in workers, features on the model thread."""

    tower_id = "tiny-colour:v1"
    dim = 3
    groups = (("rgb", 3),)

    def __init__(self) -> None:
        self.prepare_threads: set[str] = set()

    def prepare(self, image: Image.Image) -> np.ndarray:
        self.prepare_threads.add(threading.current_thread().name)
        return np.asarray(image.convert("RGB").resize((8, 8)), dtype=np.float32).transpose(2, 0, 1) / 255.0

    def features(self, batch: list[np.ndarray]) -> np.ndarray:
        return np.stack([b.mean(axis=(1, 2)) + 0.1 for b in batch]).astype(np.float32)


def test_tower_embedder_prepares_in_workers(catalog: tuple[CatalogStore, Path], tmp_path: Path) -> None:
    store, thumbs = catalog
    tower = _TinyTower()
    emb = TowerEmbedder("tiny:v1", 3, image_tower=lambda: tower, text_tower=lambda: tower)  # type: ignore[arg-type,return-value]
    items = list(read_pins(store, thumbs))
    res = run_embed_job(items, emb, tmp_path / "snapshots", cache=None, batch_size=2, workers=3)
    assert res.embedded == 7
    assert tower.prepare_threads and threading.main_thread().name not in tower.prepare_threads
    ids, vecs, _ = current_vectors(tmp_path / "snapshots")
    by_id = {it.pin_id: it for it in items}
    imgs = [open_checked(Path(by_id[int(i)].path).read_bytes(), ImageLimits()).image for i in ids]
    np.testing.assert_allclose(vecs, emb.embed_images(imgs), atol=1e-6)


def test_prefetch_map_keeps_order_and_errors() -> None:
    def fn(x: int) -> int:
        if x == 5:
            raise ValueError("five")
        return x * 10

    out = list(prefetch_map(range(11), fn, batch_size=4, workers=3))
    assert [b for b, _ in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    flat = [r for _, rs in out for r in rs]
    assert flat[:5] == [0, 10, 20, 30, 40] and isinstance(flat[5], ValueError) and flat[6] == 60


def test_prefetch_decodes_ahead_while_consumer_works() -> None:
    """While the consumer holds batch 1 (the model running), later batches are already decoding."""
    started: list[int] = []

    def fn(x: int) -> int:
        started.append(x)
        return x

    gen = prefetch_map(range(12), fn, batch_size=2, workers=2, prefetch=2)
    next(gen)  # consumer now 'runs the model' on batch 0
    deadline = time.time() + 5
    while len(started) < 6 and time.time() < deadline:
        time.sleep(0.01)
    assert len(started) >= 6  # batches 1 and 2 were submitted before batch 0 was handed back
    assert len(list(gen)) == 5
