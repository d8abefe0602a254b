"""Frozen tower features of the aligner's training pairs, as resumable partitions on a job runner.

Reader → mapper → writer, like the embed job: `read_pairs` (in `align_job`) yields `PairItem`s; they are
cut into partitions; `PairFeatureMapper` decodes one partition's images in worker threads while the
frozen image tower runs, then runs the text tower over its text variants (both through the
content-hash feature cache); each partition is written through a `PartitionStore` and the partitions
are gathered into one `PairFeatures`, in item order. On the Ray runner each actor loads the towers once
(`tower_factory`), so the same code extracts features on a cluster; a killed run recomputes only the
partitions that were in flight.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from moodboard.catalog.images import ImageLimits, open_checked, read_capped
from moodboard.core.arrays import FloatArray
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.features import image_digest, prepared_image_features, text_features
from moodboard.jobs.prefetch import prefetch_map
from moodboard.jobs.runner import JobRunner, LocalRunner, PartitionOutput, PartitionStore, make_partitions

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.embed.towers import ImageTower, TextTower

N_TEXT_VARIANTS = 3
ImageTransform = Callable[["Image.Image"], "Image.Image"]
"""A decoded image in, the image the tower should see out (e.g. `crop_to_object`)."""
TowerFactory = Callable[[], "tuple[ImageTower, TextTower]"]
"""Builds (image tower, text tower) in a worker, e.g. `functools.partial(lite_towers, "cpu")`."""


@dataclass(frozen=True, slots=True)
class PairItem:
    """One training pair: an image file, its text variants (title first) and a category for hard batches."""

    key: str
    path: str
    texts: tuple[str, ...]
    category: str = ""


@dataclass
class PairFeatures:
    """Frozen features of the pairs that decoded: kept items, image (n, Di), text variants [(n, Dt)]."""

    items: list[PairItem]
    images: FloatArray
    texts: list[FloatArray]
    failed: dict[str, str] = field(default_factory=dict)
    computed: int = 0
    partitions_computed: list[int] = field(default_factory=list)
    partitions_reused: list[int] = field(default_factory=list)


def load_image_for_tower(
    path: str, tower: ImageTower, limits: ImageLimits, transform: ImageTransform | None = None
) -> tuple[str, FloatArray]:
    """Safely decode one image file, apply `transform` (e.g. an object crop) and prepare it for `tower`.

    Returns (digest of the pixels the tower sees, input array).
    """
    image = open_checked(read_capped(Path(path), limits.max_file_bytes), limits).image
    if transform is not None:
        image = transform(image)
    return image_digest(image), tower.prepare(image)


def extract_image_features(
    paths: Sequence[str],
    tower: ImageTower,
    cache: FeatureCache | None,
    *,
    batch_size: int = 64,
    workers: int = 0,
    limits: ImageLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
    transform: ImageTransform | None = None,
) -> tuple[FloatArray, dict[int, str], int]:
    """Features of image files, decoding (and `transform`ing) in threads while the tower runs; cached by pixel hash.

    Returns:
        ((n, dim) features, {position: error} for files that failed (their rows are zero), #computed).
    """
    lim = limits or ImageLimits()
    out = np.zeros((len(paths), tower.dim), dtype=np.float32)
    failed: dict[int, str] = {}
    computed = done = 0
    positions = list(range(len(paths)))
    n_workers = workers or os.cpu_count() or 1

    def load(pos: int) -> tuple[str, FloatArray]:
        return load_image_for_tower(paths[pos], tower, lim, transform)

    for batch, results in prefetch_map(positions, load, batch_size=batch_size, workers=n_workers):
        ok = []
        for pos, res in zip(batch, results, strict=True):
            if isinstance(res, Exception):
                failed[pos] = str(res)
            else:
                ok.append((pos, res))
        feats, n_new = prepared_image_features(tower, [r[1] for _, r in ok], [r[0] for _, r in ok], cache)
        for j, (pos, _) in enumerate(ok):
            out[pos] = feats[j]
        computed += n_new
        done += len(batch)
        if progress is not None:
            progress(done, len(paths))
    return out, failed, computed


@dataclass
class PairFeatureMapper:
    """The mapper: frozen features of one partition of pairs (arrays `keep`, `images`, `text_0`...)."""

    image_tower: ImageTower
    text_tower: TextTower
    cache: FeatureCache | None
    batch_size: int = 64
    workers: int = 0

    def __call__(self, items: Sequence[PairItem]) -> PartitionOutput:
        """Features of `items`; `keep` holds the positions of the pairs whose image decoded, in order."""
        images, failed_pos, computed = extract_image_features(
            [it.path for it in items], self.image_tower, self.cache, batch_size=self.batch_size, workers=self.workers
        )
        keep = [i for i in range(len(items)) if i not in failed_pos]
        arrays: dict[str, NDArray[Any]] = {"keep": np.array(keep, dtype=np.int64), "images": images[keep]}
        for v in range(N_TEXT_VARIANTS):
            texts = [items[i].texts[v] if v < len(items[i].texts) else items[i].texts[0] for i in keep]
            arrays[f"text_{v}"] = text_features(self.text_tower, texts, self.cache, batch_size=256)
        failed = {items[i].key: msg for i, msg in failed_pos.items()}
        return PartitionOutput(arrays, {"failed": failed, "computed": computed})


@dataclass(frozen=True)
class PairMapperFactory:
    """Builds the mapper in a worker: around the given towers (this process), or from `tower_factory` (Ray
    actors load their own); the feature cache is reopened from its path per worker."""

    towers: tuple[ImageTower, TextTower] | None
    tower_factory: TowerFactory | None
    cache_path: Path | None
    batch_size: int
    workers: int

    def __call__(self) -> PairFeatureMapper:
        """A mapper for this worker."""
        towers = self.tower_factory() if self.tower_factory is not None else self.towers
        assert towers is not None
        cache = FeatureCache(self.cache_path) if self.cache_path is not None else None
        return PairFeatureMapper(towers[0], towers[1], cache, self.batch_size, self.workers)


def pair_work_url(work_url: str, image_tower: str, text_tower: str, partition_size: int) -> str:
    """The folder of one extraction's partitions: one per (towers, partition size), so runs never mix."""
    tag = hashlib.sha256(f"{image_tower}|{text_tower}|{partition_size}".encode()).hexdigest()[:16]
    return f"{work_url.rstrip('/')}/align-features-{tag}"


def extract_pair_features(
    items: Sequence[PairItem],
    image_tower: ImageTower,
    text_tower: TextTower,
    cache: FeatureCache | None,
    *,
    batch_size: int = 64,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
    runner: JobRunner | None = None,
    partition_size: int = 1000,
    work_url: str | None = None,
    tower_factory: TowerFactory | None = None,
) -> PairFeatures:
    """Frozen features for every pair as resumable partitions on `runner` (local by default), in item order.

    Partitions go to `work_url` (any fsspec URL; a rerun after a kill reuses the finished ones) or, when
    it is None, to a temporary folder. They are deleted once gathered. Off this process (`runner.name !=
    "local"`), workers build their towers with `tower_factory`; pairs whose image fails are dropped and
    reported.
    """
    runner = runner or LocalRunner()
    remote = runner.name != "local" and tower_factory is not None
    factory = PairMapperFactory(
        None if remote else (image_tower, text_tower),
        tower_factory if remote else None,
        cache.path if cache is not None else None,
        batch_size,
        workers,
    )
    parts = make_partitions(items, partition_size)
    with tempfile.TemporaryDirectory(prefix="moodboard-align-") as tmp:
        base = work_url or tmp
        store = PartitionStore(pair_work_url(base, image_tower.tower_id, text_tower.tower_id, partition_size))
        report = runner.run(parts, factory, store, progress)
        kept: list[PairItem] = []
        images: list[FloatArray] = []
        texts: list[list[FloatArray]] = [[] for _ in range(N_TEXT_VARIANTS)]
        failed: dict[str, str] = {}
        computed = 0
        for part in parts:
            out = store.read(part)
            kept += [part.items[int(i)] for i in out.arrays["keep"]]
            images.append(out.arrays["images"])
            for v in range(N_TEXT_VARIANTS):
                texts[v].append(out.arrays[f"text_{v}"])
            failed.update({str(k): str(m) for k, m in dict(out.meta.get("failed") or {}).items()})
            computed += int(out.meta.get("computed", 0))
        store.clear()

    def stack(parts: list[FloatArray], dim: int) -> FloatArray:
        return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)

    return PairFeatures(
        items=kept,
        images=stack(images, image_tower.dim),
        texts=[stack(t, text_tower.dim) for t in texts],
        failed=failed,
        computed=computed,
        partitions_computed=sorted(report.computed),
        partitions_reused=sorted(report.reused),
    )
