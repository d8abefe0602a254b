"""Crop a shopper's photo to the garment in it before it is embedded as a search query.

People photograph clothes on beds, floors and hangers; catalog images are packshots on white. The
frozen image tower sees the background as much as the garment, so a photo query retrieves whatever
matches the bed sheet. GrabCut (Rother et al., SIGGRAPH 2004: graph cuts over colour mixture models,
classical, no learnt weights) separates the object from a rectangle that leaves out the photo's border;
the query is the bounding box of the largest foreground region. Chosen on clothing-small/validation
against the Myntra catalog (BENCHMARKS.md): photo → catalog P@10 0.616 → 0.682; whitening the
background as well scored lower (0.662), so only the crop is kept.

(Not to be confused with `catalog.images.trim_border`, which trims a uniform studio margin off catalog
images before perceptual hashing.)

Images that already are packshots (a plain light border) are returned unchanged, so uploading a
catalog image still finds that very pin first. The crop only makes sense for a packshot catalog: the
index job measures `packshot_fraction` of the catalog's images and search crops uploads (setting
`index.photo_object_crop = "auto"`) only when most of them are packshots.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from moodboard.core.errors import DependencyError

if TYPE_CHECKING:
    from PIL import Image

# OpenCV seeds GrabCut's k-means from one process-wide RNG: reseed under a lock for repeatable crops.
_RNG_LOCK = threading.Lock()


@dataclass(frozen=True)
class CropConfig:
    """GrabCut settings. The margin was fixed a priori; resolution and iterations were lowered from
    200 px x 4 to 128 px x 3 for speed (66 -> 21 ms per photo) after clothing-small/validation showed
    the same P@10 (0.679 vs 0.682, same run)."""

    margin: float = 0.04  # fraction of each side assumed to be background
    iterations: int = 3
    work_size: int = 128  # longest side GrabCut runs at (the crop is taken from the full image)
    pad: int = 4  # pixels kept around the object's bounding box
    min_object: float = 0.05  # smaller foreground (fraction of the image) = no object found
    plain_border: float = 0.5  # at least this much near-white border = already a packshot


def is_packshot(rgb: np.ndarray, config: CropConfig = CropConfig()) -> bool:
    """True when most of the outer ring of an (H, W, 3) uint8 image is near-white (a catalog packshot).

    Half is enough: models in catalog shots run off the top and bottom edges. On Myntra 99.8 % of
    images pass and none of the 341 clothing-small/validation photos does.
    """
    h, w = rgb.shape[:2]
    ring = max(1, round(min(h, w) * 0.03))
    sides = (rgb[:ring], rgb[-ring:], rgb[:, :ring], rgb[:, -ring:])
    border = np.concatenate([side.reshape(-1, 3) for side in sides])  # (n, 3)
    return bool((border.min(axis=1) >= 235).mean() >= config.plain_border)


def object_box(rgb: np.ndarray, config: CropConfig = CropConfig()) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the largest GrabCut foreground region of an (H, W, 3) uint8 image, or None."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - dependency is in pyproject
        raise DependencyError("cropping photos needs OpenCV", "pip install opencv-python-headless") from exc
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        return None
    scale = config.work_size / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))  # (sh, sw, 3)
    sh, sw = small.shape[:2]
    mx, my = max(1, round(sw * config.margin)), max(1, round(sh * config.margin))
    mask = np.zeros((sh, sw), np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    with _RNG_LOCK:
        cv2.setRNGSeed(0)
        cv2.grabCut(small, mask, (mx, my, sw - 2 * mx, sh - 2 * my), bgd, fgd, config.iterations, cv2.GC_INIT_WITH_RECT)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh, area = (int(v) for v in stats[best])
    if area < config.min_object * sh * sw:
        return None
    inv = 1.0 / scale
    left, top = max(0, int(x * inv) - config.pad), max(0, int(y * inv) - config.pad)
    right, bottom = min(w, int(np.ceil((x + bw) * inv)) + config.pad), min(h, int(np.ceil((y + bh) * inv)) + config.pad)
    return (left, top, right, bottom) if right > left and bottom > top else None


def crop_to_object(image: Image.Image, config: CropConfig = CropConfig()) -> Image.Image:
    """The photo cropped to its main object; packshots and photos without a clear object come back as they are."""
    rgb = np.asarray(image.convert("RGB"))
    if is_packshot(rgb, config):
        return image
    box = object_box(rgb, config)
    return image if box is None else image.convert("RGB").crop(box)


def packshot_fraction(paths: Sequence[str], sample: int = 200, seed: int = 0) -> tuple[float, int]:
    """(share of packshots, images read) over a seeded sample of image files; unreadable files are skipped."""
    from PIL import Image, UnidentifiedImageError

    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(paths), size=min(sample, len(paths)), replace=False).tolist() if paths else []
    hits = seen = 0
    for i in chosen:
        try:
            with Image.open(paths[i]) as im:
                im.draft("RGB", (256, 256))  # JPEG: decode at reduced size, plenty for a border test
                rgb = np.asarray(im.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError):
            continue
        seen += 1
        hits += is_packshot(rgb)
    return (hits / seen if seen else 0.0), seen


def should_crop(mode: str, catalog_packshots: float | None) -> bool:
    """Whether uploads get `crop_to_object`: "always", "never", or "auto" (the catalog is mostly packshots)."""
    if mode == "auto":
        return catalog_packshots is not None and catalog_packshots >= 0.5
    return mode == "always"
