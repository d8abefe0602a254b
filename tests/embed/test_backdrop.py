"""`plain_backdrop`: one product on a plain backdrop versus a scene, from the photo's border alone."""

from __future__ import annotations

import numpy as np
from PIL import Image

from moodboard.embed.backdrop import plain_backdrop


def _product_on(background: np.ndarray) -> Image.Image:
    img = background.copy()
    img[60:240, 120:280] = (200, 30, 40)  # the product, well inside the frame
    return Image.fromarray(img)


def test_a_studio_shot_is_a_plain_backdrop_and_a_busy_scene_is_not() -> None:
    rng = np.random.default_rng(0)
    white = np.full((300, 400, 3), 250, np.uint8)
    assert plain_backdrop(_product_on(white))
    grey = np.full((300, 400, 3), 128, np.uint8) + rng.integers(-6, 6, (300, 400, 3)).astype(np.uint8)  # sensor noise
    assert plain_backdrop(_product_on(grey))
    room = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)  # a textured, many-coloured border
    assert not plain_backdrop(_product_on(room))
    half = white.copy()
    half[:, :200] = (40, 90, 160)  # a wall meeting a floor: two colours along the border
    assert not plain_backdrop(_product_on(half))
    assert plain_backdrop(Image.new("RGB", (3, 3)))  # too small to hold a scene
