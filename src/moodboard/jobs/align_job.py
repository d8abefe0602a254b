"""The aligner training job: catalog pins → frozen tower features (cached) → trained heads → snapshot.

Reader → mapper → writer: `read_pairs` yields (image path, text variants, category) per pin,
`extract_pair_features` decodes images in worker threads while the frozen towers run (features are
cached by content hash, so a re-run recomputes nothing), `train_aligner` fits the heads, and
`write_aligner` publishes a versioned `aligner` snapshot that the `lite` embedder loads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from moodboard.embed.photo_block import PhotoSet
from moodboard.jobs.embed_job import pin_image_path
from moodboard.jobs.prefetch import prefetch_map

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.catalog.store import CatalogStore
    from moodboard.embed.towers import ImageTower, TextTower

N_TEXT_VARIANTS = 3
ImageTransform = Callable[["Image.Image"], "Image.Image"]
"""A decoded image in, the image the tower should see out (e.g. `crop_to_object`)."""


@dataclass(frozen=True, slots=True)
class PairItem:
    """One training pair: an image file, its text variants (title first) and a category for hard batches."""

    key: str
    path: str
    texts: tuple[str, ...]
    category: str = ""


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


@dataclass
class PairFeatures:
    """Frozen features of the pairs that decoded: kept items, image (n, Di), text variants [(n, Dt)]."""

    items: list[PairItem]
    images: FloatArray
    texts: list[FloatArray]
    failed: dict[str, str] = field(default_factory=dict)
    computed: int = 0


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
) -> AlignJobResult:
    """Extract (or reuse) frozen features for all pairs, train the heads, write the snapshot.

    With labelled `photos`, the image-only block is fitted on them as a photo domain adapter; they are
    cropped to their object when `crop_photos` (as search crops uploads: `object_crop.should_crop`).
    """
    start = time.perf_counter()
    if len(items) < 4:
        raise InvalidInputError(
            f"the catalog has {len(items)} pins with images and text; the aligner needs at least 4",
            "ingest a catalog first (`moodboard ingest`)",
        )
    feats = extract_pair_features(
        items, image_tower, text_tower, cache, batch_size=batch_size, workers=workers, progress=extract_progress
    )
    photo_feats = (
        extract_photo_features(photos, image_tower, cache, batch_size=batch_size, workers=workers, crop=crop_photos)
        if photos
        else None
    )
    data = training_data(feats, photo_feats)
    result = train_aligner(
        data,
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
        "image_block": "photo adapter" if data.photos is not None else "pca",
        "photos": 0 if data.photos is None else int(data.photos.images.shape[0]),
        "metrics": result.aligner.spec.metrics,
        "history": result.history,
    }
    snap = write_aligner(snapshots_dir, result.aligner, manifest)
    return AlignJobResult(
        snap, len(feats.items), feats.failed, feats.computed, result.aligner.spec.metrics, time.perf_counter() - start
    )
