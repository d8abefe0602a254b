"""The aligner training job: catalog pins → frozen tower features (cached) → trained heads → snapshot.

Reader → mapper → writer: `read_pairs` yields (image path, text variants, category) per pin,
`extract_pair_features` decodes images in worker threads while the frozen towers run (features are
cached by content hash, so a re-run recomputes nothing), `train_aligner` fits the heads, and
`write_aligner` publishes a versioned `aligner` snapshot that the `lite` embedder loads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.catalog.images import ImageLimits, open_checked, read_capped
from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.core.snapshot import write_snapshot
from moodboard.embed.align_training import ProgressFn, TrainingData, train_aligner
from moodboard.embed.aligner import ALIGNER_KIND, Aligner, AlignerConfig
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.features import image_digest, prepared_image_features, text_features
from moodboard.embed.pair_text import pair_texts
from moodboard.jobs.embed_job import pin_image_path, prefetch_map

if TYPE_CHECKING:
    from moodboard.catalog.store import CatalogStore
    from moodboard.embed.towers import ImageTower, TextTower

N_TEXT_VARIANTS = 3


@dataclass(frozen=True, slots=True)
class PairItem:
    """One training pair: an image file, its text variants (title first) and a category for hard batches."""

    key: str
    path: str
    texts: tuple[str, ...]
    category: str = ""


def read_pairs(store: CatalogStore, thumbnails_dir: Path | None = None, batch_size: int = 1000) -> Iterator[PairItem]:
    """Yield a `PairItem` per pin that has an image file and a title or category."""
    for pins in store.iter_pins(batch_size=batch_size):
        for pin in pins:
            path = pin_image_path(pin, thumbnails_dir)
            texts = pair_texts(pin.title, pin.category, pin.color, pin.attributes)
            if path and any(texts):
                yield PairItem(str(pin.id), path, tuple(texts), pin.category or "")


@dataclass
class PairFeatures:
    """Frozen features of the pairs that decoded: kept items, image (n, Di), text variants [(n, Dt)]."""

    items: list[PairItem]
    images: FloatArray
    texts: list[FloatArray]
    failed: dict[str, str] = field(default_factory=dict)
    computed: int = 0


def load_image_for_tower(path: str, tower: ImageTower, limits: ImageLimits) -> tuple[str, FloatArray]:
    """Safely decode one image file and prepare it for `tower`; returns (pixel digest, input array)."""
    image = open_checked(read_capped(Path(path), limits.max_file_bytes), limits).image
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
) -> tuple[FloatArray, dict[int, str], int]:
    """Features of image files, decoding in threads while the tower runs; cached by pixel hash.

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
        return load_image_for_tower(paths[pos], tower, lim)

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


def extract_pair_features(
    items: Sequence[PairItem],
    image_tower: ImageTower,
    text_tower: TextTower,
    cache: FeatureCache | None,
    *,
    batch_size: int = 64,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PairFeatures:
    """Frozen features for every pair; pairs whose image fails to decode are dropped and reported."""
    images, failed_pos, computed = extract_image_features(
        [it.path for it in items], image_tower, cache, batch_size=batch_size, workers=workers, progress=progress
    )
    keep = [i for i in range(len(items)) if i not in failed_pos]
    kept = [items[i] for i in keep]
    variants = []
    for v in range(N_TEXT_VARIANTS):
        texts = [it.texts[v] if v < len(it.texts) else it.texts[0] for it in kept]
        variants.append(text_features(text_tower, texts, cache, batch_size=256))
    return PairFeatures(
        items=kept,
        images=images[keep],
        texts=variants,
        failed={items[i].key: msg for i, msg in failed_pos.items()},
        computed=computed,
    )


def training_data(features: PairFeatures) -> TrainingData:
    """Group ids (same lower-cased title), category strata for hard batches and labels for the category loss."""
    titles = [it.texts[0].lower() for it in features.items]
    groups = _codes(titles)
    categories = [it.category.strip().lower() for it in features.items]
    strata = _codes(categories)
    labels = np.where([bool(c) for c in categories], strata, -1).astype(np.int64)  # no category: no label
    return TrainingData(features.images, features.texts, groups, strata, labels)


def _codes(values: Sequence[str]) -> IntArray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)


def write_aligner(
    snapshots_dir: Path, aligner: Aligner, manifest: dict[str, Any], *, make_current: bool = True
) -> Path:
    """Publish trained heads as a new `aligner` snapshot and return its folder."""
    return write_snapshot(snapshots_dir, ALIGNER_KIND, aligner.save, manifest, make_current=make_current)


@dataclass
class AlignJobResult:
    """What `run_align_job` did."""

    snapshot: Path
    pairs: int
    failed: dict[str, str]
    computed_images: int
    metrics: dict[str, float]
    seconds: float


def run_align_job(
    items: Sequence[PairItem],
    image_tower: ImageTower,
    text_tower: TextTower,
    snapshots_dir: Path,
    config: AlignerConfig,
    *,
    cache: FeatureCache | None,
    batch_size: int = 64,
    workers: int = 0,
    extract_progress: Callable[[int, int], None] | None = None,
    train_progress: ProgressFn | None = None,
) -> AlignJobResult:
    """Extract (or reuse) frozen features for all pairs, train the heads, write the snapshot."""
    start = time.perf_counter()
    if len(items) < 4:
        raise InvalidInputError(
            f"the catalog has {len(items)} pins with images and text; the aligner needs at least 4",
            "ingest a catalog first (`moodboard ingest`)",
        )
    feats = extract_pair_features(
        items, image_tower, text_tower, cache, batch_size=batch_size, workers=workers, progress=extract_progress
    )
    result = train_aligner(
        training_data(feats),
        config,
        image_tower=image_tower.tower_id,
        text_tower=text_tower.tower_id,
        image_groups=image_tower.groups,
        progress=train_progress,
    )
    manifest = {
        "image_tower": image_tower.tower_id,
        "text_tower": text_tower.tower_id,
        "counts": {"pairs": len(feats.items), "failed": len(feats.failed), "val": len(result.val_idx)},
        "metrics": result.aligner.spec.metrics,
        "history": result.history,
    }
    snap = write_aligner(snapshots_dir, result.aligner, manifest)
    return AlignJobResult(
        snap, len(feats.items), feats.failed, feats.computed, result.aligner.spec.metrics, time.perf_counter() - start
    )
