"""The aligner training job: catalog pins → frozen tower features (cached) → trained heads → snapshot.

Reader → mapper → writer: `read_pairs` yields (image path, text variants, category) per pin,
`extract_pair_features` (`pair_features.py`) decodes images in worker threads while the frozen towers
run, as resumable partitions on the job runner (features are cached by content hash, so a re-run
recomputes nothing), `train_aligner` fits the heads (one training loop: one task on the runner, not
partitioned), and `write_aligner` publishes a versioned `aligner` snapshot that the `lite` embedder loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.core.snapshot import write_snapshot
from moodboard.embed.align_training import ProgressFn, TrainingData, train_aligner
from moodboard.embed.aligner import ALIGNER_KIND, Aligner, AlignerConfig
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.pair_text import pair_texts
from moodboard.embed.photo_block import PhotoSet
from moodboard.jobs.embed_job import pin_image_path
from moodboard.jobs.pair_features import (
    N_TEXT_VARIANTS,
    ImageTransform,
    PairFeatures,
    PairItem,
    TowerFactory,
    extract_image_features,
    extract_pair_features,
    load_image_for_tower,
)
from moodboard.jobs.runner import JobRunner, LocalRunner

if TYPE_CHECKING:
    from moodboard.catalog.store import CatalogStore
    from moodboard.embed.towers import ImageTower, TextTower

__all__ = [  # the feature extraction moved to pair_features.py; its names stay importable from here
    "N_TEXT_VARIANTS",
    "ImageTransform",
    "PairFeatures",
    "PairItem",
    "extract_image_features",
    "extract_pair_features",
    "load_image_for_tower",
]


def read_pairs(store: CatalogStore, thumbnails_dir: Path | None = None, batch_size: int = 1000) -> Iterator[PairItem]:
    """Yield a `PairItem` per pin that has an image file and a title or category.

    The category is the deepest level of the pin's category path that the catalog profile keeps (a
    crawled path often ends in the product's own name, which is no category to learn).
    """
    from moodboard.index.profile import learn_profile

    profile = learn_profile(p for batch in store.iter_pins(batch_size=batch_size) for p in batch)
    for pins in store.iter_pins(batch_size=batch_size):
        for pin in pins:
            path = pin_image_path(pin, thumbnails_dir)
            leaf = profile.leaf("category", pin.category) or ""
            texts = pair_texts(pin.title, leaf, pin.color, pin.attributes)
            if path and any(texts):
                yield PairItem(str(pin.id), path, tuple(texts), leaf)


def training_data(features: PairFeatures, photos: PhotoFeatures | None = None) -> TrainingData:
    """Group ids (same lower-cased title), category strata for hard batches and labels for the category loss.

    With `photos`, each photo's categories become a row of allowed category ids (photo domain adapter);
    categories that no pin has are ignored.

    Raises:
        InvalidInputError: photos are given but none of their categories is in the catalog.
    """
    titles = [it.texts[0].lower() for it in features.items]
    groups = _codes(titles)
    categories = [it.category.strip().lower() for it in features.items]
    strata = _codes(categories)
    labels = np.where([bool(c) for c in categories], strata, -1).astype(np.int64)  # no category: no label
    photo_set = None
    if photos is not None:
        code = {c: int(k) for c, k in zip(categories, strata, strict=True) if c}
        allowed = np.zeros((len(photos.items), int(strata.max(initial=0)) + 1), dtype=bool)
        for i, photo in enumerate(photos.items):
            for cat in photo.categories:
                if cat.strip().lower() in code:
                    allowed[i, code[cat.strip().lower()]] = True
        keep = allowed.any(axis=1)
        if not keep.any():
            raise InvalidInputError(
                "none of the photos' categories is a category of the catalog's pins",
                "name photo folders after pin categories or map them with --photo-classes",
            )
        photo_set = PhotoSet(photos.images[keep], allowed[keep])
    return TrainingData(features.images, features.texts, groups, strata, labels, photo_set)


@dataclass(frozen=True, slots=True)
class LabelledPhoto:
    """A person's photo and the catalog categories it may show."""

    path: str
    categories: tuple[str, ...]


@dataclass
class PhotoFeatures:
    """Frozen features of the labelled photos that decoded."""

    items: list[LabelledPhoto]
    images: FloatArray
    failed: dict[str, str] = field(default_factory=dict)


_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def read_labelled_photos(folder: Path, classes: Mapping[str, Sequence[str]] | None = None) -> list[LabelledPhoto]:
    """Photos in `folder/<class>/*`; a class names a pin category, or `classes` maps it to several.

    Raises:
        InvalidInputError: the folder has no class folders with images, or a class is not in `classes`.
    """
    out: list[LabelledPhoto] = []
    if not folder.is_dir():
        raise InvalidInputError(f"photo folder {folder} does not exist", "pass a folder of <class>/<image> files")
    for sub in sorted(d for d in folder.iterdir() if d.is_dir()):
        if classes is not None and sub.name not in classes:
            raise InvalidInputError(
                f"photo class {sub.name!r} is not in the class mapping",
                "add it to the --photo-classes JSON ({class: [categories]})",
            )
        cats = tuple(classes[sub.name]) if classes is not None else (sub.name,)
        out += [LabelledPhoto(str(f), cats) for f in sorted(sub.iterdir()) if f.suffix.lower() in _PHOTO_SUFFIXES]
    if not out:
        raise InvalidInputError(f"no photos under {folder}", "put images in one folder per class: DIR/<class>/<image>")
    return out


def extract_photo_features(
    photos: Sequence[LabelledPhoto],
    tower: ImageTower,
    cache: FeatureCache | None,
    *,
    batch_size: int = 64,
    workers: int = 0,
    crop: bool = True,
) -> PhotoFeatures:
    """Frozen features of labelled photos, cropped to their object as search crops uploads (`crop`).

    Photos that fail to decode are dropped and reported.
    """
    from moodboard.embed.object_crop import crop_to_object

    feats, failed, _ = extract_image_features(
        [p.path for p in photos],
        tower,
        cache,
        batch_size=batch_size,
        workers=workers,
        transform=crop_to_object if crop else None,
    )
    keep = [i for i in range(len(photos)) if i not in failed]
    return PhotoFeatures([photos[i] for i in keep], feats[keep], {photos[i].path: m for i, m in failed.items()})


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
    photos: Sequence[LabelledPhoto] = (),
    crop_photos: bool = True,
    runner: JobRunner | None = None,
    partition_size: int = 1000,
    work_url: str | None = None,
    tower_factory: TowerFactory | None = None,
) -> AlignJobResult:
    """Extract (or reuse) frozen features for all pairs, train the heads, write the snapshot.

    Pair features are resumable partitions on `runner` (local by default; Ray actors build their towers
    with `tower_factory`, partitions go to `work_url`); training is one task on the same runner. With
    labelled `photos` (a few hundred, extracted in this process), the image-only block is fitted on them
    as a photo domain adapter; they are cropped to their object when `crop_photos` (as search crops
    uploads: `object_crop.should_crop`).
    """
    runner = runner or LocalRunner()
    start = time.perf_counter()
    if len(items) < 4:
        raise InvalidInputError(
            f"the catalog has {len(items)} pins with images and text; the aligner needs at least 4",
            "ingest a catalog first (`moodboard ingest`)",
        )
    feats = extract_pair_features(
        items,
        image_tower,
        text_tower,
        cache,
        batch_size=batch_size,
        workers=workers,
        progress=extract_progress,
        runner=runner,
        partition_size=partition_size,
        work_url=work_url,
        tower_factory=tower_factory,
    )
    photo_feats = (
        extract_photo_features(photos, image_tower, cache, batch_size=batch_size, workers=workers, crop=crop_photos)
        if photos
        else None
    )
    data = training_data(feats, photo_feats)
    train = partial(
        train_aligner, image_tower=image_tower.tower_id, text_tower=text_tower.tower_id, image_groups=image_tower.groups
    )
    result = runner.call(train, data, config, progress=train_progress)
    manifest = {
        "image_tower": image_tower.tower_id,
        "text_tower": text_tower.tower_id,
        "counts": {"pairs": len(feats.items), "failed": len(feats.failed), "val": len(result.val_idx)},
        "image_block": "photo adapter" if data.photos is not None else "pca",
        "photos": 0 if data.photos is None else int(data.photos.images.shape[0]),
        "metrics": result.aligner.spec.metrics,
        "history": result.history,
        "runner": runner.name,
    }
    snap = write_aligner(snapshots_dir, result.aligner, manifest)
    return AlignJobResult(
        snap, len(feats.items), feats.failed, feats.computed, result.aligner.spec.metrics, time.perf_counter() - start
    )
