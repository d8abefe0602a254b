"""Generated test images: coloured shapes whose visual answer is obvious."""

from __future__ import annotations

from pathlib import Path

COLOURS = {
    "red": (220, 30, 30),
    "blue": (30, 60, 220),
    "green": (30, 170, 60),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "yellow": (240, 210, 30),
}
SHAPES = ["circle", "square", "triangle"]


def make_image(path: Path, colour: str, shape: str, size: int = 96) -> None:
    """Draw a coloured shape on a grey background and save it (format from the suffix)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), (128, 128, 128))
    d = ImageDraw.Draw(img)
    box = (size // 6, size // 6, size - size // 6, size - size // 6)
    fill = COLOURS[colour]
    if shape == "circle":
        d.ellipse(box, fill=fill)
    elif shape == "square":
        d.rectangle(box, fill=fill)
    else:
        d.polygon([(size // 2, box[1]), (box[2], box[3]), (box[0], box[3])], fill=fill)
    img.save(path)


def make_photo(path: Path, seed: int, size: int = 200, tint: tuple[int, int, int] = (0, 0, 0)) -> None:
    """A photo-like image: smooth random structure (pHash needs texture; flat shapes are degenerate)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    arr = np.clip(np.asarray(img, dtype=np.int16) + np.array(tint, dtype=np.int16), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
