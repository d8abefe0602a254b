"""Synthetic scenes for the shop-the-look tests: flat-colour objects pasted on a smooth textured background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

Box = tuple[int, int, int, int]


def background(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth, muted random texture (H, W, 3) uint8, like an out-of-focus room."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(90, 170, size=(6, 6, 3)).astype(np.uint8)
    img = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 4, size=(height, width, 3))
    return np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8)


def scene(
    objects: list[tuple[tuple[int, int, int], Box, str]], width: int = 640, height: int = 480, seed: int = 0
) -> Image.Image:
    """Draw each (colour, box, shape) on the background; shape is "rect" or "ellipse"."""
    img = Image.fromarray(background(width, height, seed))
    draw = ImageDraw.Draw(img)
    for colour, box, shape in objects:
        if shape == "ellipse":
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    return img
