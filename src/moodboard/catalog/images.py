"""Safe image decoding: size and pixel caps, format checks, thumbnails and perceptual hashes.

Every failure is an `ImageError` whose message names the problem and whose hint says how to fix it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from moodboard.catalog.store import NewImage
from moodboard.core.errors import ImageError

SIG_SIDE = 8
SIG_HEX = SIG_SIDE * SIG_SIDE * 3 * 2
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", "AVIF", "MPO"})
_heif_registered = False


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Caps applied before and while decoding."""

    max_file_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 40_000_000
    thumbnail_px: int = 256


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # pragma: no cover - pillow-heif is a hard dependency
            pass
        _heif_registered = True


def read_capped(path: Path, max_bytes: int) -> bytes:
    """Read a file, refusing it when it is larger than `max_bytes`."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"cannot read image {path.name}: {exc.strerror}", "check the path and permissions") from exc
    if size > max_bytes:
        raise ImageError(
            f"image file is {size:,} bytes, over the {max_bytes:,}-byte limit",
            "shrink the image or raise MOODBOARD_INGEST__MAX_FILE_BYTES",
        )
    if size == 0:
        raise ImageError("image file is empty", "replace it with a real image")
    return path.read_bytes()


@dataclass(frozen=True, slots=True)
class Decoded:
    """A safely decoded RGB image with its original format and size."""

    image: Image.Image
    format: str
    width: int
    height: int
    plain_rgb_jpeg: bool = False

    def reusable_as_thumbnail(self, side: int) -> bool:
        """Whether the original bytes can serve as the thumbnail (an upright RGB JPEG within `side`)."""
        return self.plain_rgb_jpeg and max(self.width, self.height) <= side


def open_checked(data: bytes, limits: ImageLimits) -> Decoded:
    """Open and fully decode image bytes with every safety check.

    Raises:
        ImageError: too large, not an image, unsupported format, decompression bomb, or corrupt.
    """
    _register_heif()
    if len(data) > limits.max_file_bytes:
        raise ImageError(
            f"image is {len(data):,} bytes, over the {limits.max_file_bytes:,}-byte limit",
            "shrink the image or raise the size limit",
        )
    try:
        img: Image.Image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ImageError(
            "file is not a recognised image (its content is not JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC or AVIF)",
            "re-export it as JPEG or PNG; check it is not an HTML page or a text file",
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageError("image declares too many pixels (decompression bomb)", "downscale it") from exc
    except OSError as exc:
        raise ImageError(f"image header is unreadable: {exc}", "re-export the image") from exc
    fmt = (img.format or "").upper()
    if fmt not in SUPPORTED_FORMATS:
        raise ImageError(
            f"image format {fmt or 'unknown'} is not supported",
            "convert it to JPEG, PNG, WebP, HEIC or AVIF",
        )
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError(f"image has impossible size {w}x{h}", "re-export the image")
    if w * h > limits.max_pixels:
        raise ImageError(
            f"image is {w}x{h} = {w * h:,} pixels, over the "
            f"{limits.max_pixels:,}-pixel limit (decompression-bomb guard)",
            "downscale it or raise MOODBOARD_INGEST__MAX_PIXELS",
        )
    try:
        if fmt == "JPEG":
            img.draft("RGB", (limits.thumbnail_px * 2, limits.thumbnail_px * 2))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
        plain = fmt == "JPEG" and img.mode in ("RGB", "L") and img.getexif().get(0x0112, 1) == 1
        img = ImageOps.exif_transpose(img) or img
        return Decoded(img.convert("RGB"), fmt, w, h, plain)
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise ImageError(f"image data is corrupt or truncated: {exc}", "re-download or re-export the image") from exc


def trim_border(img: Image.Image) -> Image.Image:
    """Crop away a uniform border (studio backgrounds), so hashes describe the object, not the margin."""
    bg = Image.new("RGB", img.size, img.getpixel((0, 0)))  # type: ignore[arg-type]
    mask = ImageChops.difference(img, bg).convert("L").point(lambda v: 255 if v > 24 else 0)
    box = mask.getbbox()
    return img.crop(box) if box else img


@functools.cache
def _dct_matrix(n: int = 32) -> np.ndarray:
    k = np.arange(n)[:, None]
    return np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n)).astype(np.float64)


def phash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash as 16 hex digits (the classic pHash: 32x32 grey, 8x8 low frequencies > median).

    Same bits as `imagehash.phash`, computed with one precomputed DCT matrix instead of two FFT calls.
    """
    pixels = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    m = _dct_matrix()
    low = (m @ pixels @ m.T)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def color_signature(img: Image.Image) -> str:
    """8x8 RGB thumbnail as 384 hex digits (pHash is blind to colour)."""
    small = img.resize((SIG_SIDE, SIG_SIDE), Image.Resampling.BOX)
    return small.tobytes().hex()


def color_distance(a: str, b: str) -> float:
    """Mean absolute per-channel difference of two colour signatures (0-255; 255 when unknown)."""
    if len(a) != SIG_HEX or len(b) != SIG_HEX:
        return 255.0
    x, y = bytes.fromhex(a), bytes.fromhex(b)
    return sum(abs(p - q) for p, q in zip(x, y, strict=True)) / len(x)


def hamming(a: str, b: str) -> int:
    """Bit distance between two hex perceptual hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


TEMP_DIR = ".tmp"  # under the thumbnails folder: where thumbnails are written before their rename


def sweep_stale_temp(thumbs_dir: Path) -> int:
    """Delete temp thumbnails left by killed processes (their pid no longer runs); return how many."""
    removed = 0
    for tmp in (thumbs_dir / TEMP_DIR).glob("*.tmp") if (thumbs_dir / TEMP_DIR).is_dir() else ():
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
        except (ValueError, IndexError):
            pid = -1
        if pid > 0 and pid != os.getpid() and _alive(pid):
            continue  # another ingest is writing it right now
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_image(data: bytes, limits: ImageLimits, thumbs_dir: Path) -> NewImage:
    """Decode image bytes, write a JPEG thumbnail named by content hash, and describe the image.

    Thumbnail writes are atomic (temp file in `thumbs_dir/.tmp` + rename), so a killed run never leaves
    a half file in place; `sweep_stale_temp` removes the temp files of processes that died.
    """
    digest = hashlib.sha256(data).hexdigest()
    decoded = open_checked(data, limits)
    img = decoded.image
    rel = Path(digest[:2]) / f"{digest}.jpg"
    out = thumbs_dir / rel
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = thumbs_dir / TEMP_DIR / f"{digest}.{os.getpid()}.tmp"
        tmp.parent.mkdir(exist_ok=True)
        if decoded.reusable_as_thumbnail(limits.thumbnail_px):
            tmp.write_bytes(data)  # already a small upright JPEG: re-encoding would only lose quality
        else:
            thumb = img.copy()
            thumb.thumbnail((limits.thumbnail_px, limits.thumbnail_px))
            thumb.save(tmp, "JPEG", quality=85)
        os.replace(tmp, out)
    return NewImage(
        content_hash=digest,
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        byte_size=len(data),
        phash=phash(obj := trim_border(img)),
        color_sig=color_signature(obj),
        thumbnail_path=str(rel),
    )


def process_image_file(path: Path, limits: ImageLimits, thumbs_dir: Path) -> NewImage:
    """`process_image` for a file on disk, with the file-size cap checked before reading."""
    return process_image(read_capped(path, limits.max_file_bytes), limits, thumbs_dir)
