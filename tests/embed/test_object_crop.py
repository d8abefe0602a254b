"""Cropping shoppers' photos to their main object (GrabCut) before they are embedded as queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moodboard.embed.object_crop import crop_to_object, is_packshot, object_box, packshot_fraction, should_crop


def photo(seed: int = 0, box: tuple[int, int, int, int] = (90, 50, 210, 230)) -> Image.Image:
    """A 300x280 'photo': a red garment with a dark stripe on a noisy beige-brown floor."""
    rng = np.random.default_rng(seed)
    arr = np.clip(rng.normal((160, 130, 100), 18, size=(280, 300, 3)), 0, 255).astype(np.uint8)  # (H, W, 3)
    left, top, right, bottom = box
    arr[top:bottom, left:right] = (200, 30, 40)
    arr[top + 40 : top + 50, left:right] = (30, 30, 60)
    return Image.fromarray(arr)


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


@pytest.mark.parametrize("box", [(90, 50, 210, 230), (30, 20, 140, 120), (120, 100, 280, 260)])
def test_box_finds_the_garment_not_the_floor(box: tuple[int, int, int, int]) -> None:
    found = object_box(np.asarray(photo(1, box)))
    assert found is not None
    assert iou(found, box) > 0.8, (found, box)


def test_crop_is_the_object_and_is_repeatable() -> None:
    img = photo(2)
    out = crop_to_object(img)
    assert out.size[0] < img.size[0] * 0.6 and out.size[1] < img.size[1] * 0.8
    assert np.asarray(out).mean(axis=(0, 1))[0] > 150  # mostly the red garment
    assert crop_to_object(img).size == out.size


def test_packshots_pass_unchanged() -> None:
    arr = np.full((224, 224, 3), 255, dtype=np.uint8)
    arr[40:200, 60:170] = (20, 60, 160)  # a blue shirt on white
    img = Image.fromarray(arr)
    assert is_packshot(arr)
    assert crop_to_object(img) is img
    arr[:, 100:140] = (0, 0, 0)  # a model running off the top and bottom edges: still a packshot
    assert is_packshot(arr)


def test_tiny_and_plain_images_are_left_alone() -> None:
    tiny = Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8))
    assert crop_to_object(tiny) is tiny
    assert not is_packshot(np.asarray(photo(3)))


def test_other_modes_come_back_as_rgb_crops() -> None:
    out = crop_to_object(photo(4).convert("RGBA"))
    assert out.mode == "RGB" and out.size[0] < 300


def test_packshot_fraction_of_a_catalog(tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        arr = np.full((120, 100, 3), 255, dtype=np.uint8)
        arr[30:90, 30:70] = (40 * i, 80, 120)
        img = Image.fromarray(arr) if i < 4 else photo(i)  # four packshots, two photos
        paths.append(str(tmp_path / f"{i}.jpg"))
        img.save(paths[-1])
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    share, seen = packshot_fraction([*paths, str(tmp_path / "broken.jpg")], sample=50)
    assert seen == 6 and share == pytest.approx(4 / 6)
    assert packshot_fraction([]) == (0.0, 0)


def test_should_crop_modes() -> None:
    assert should_crop("always", None) and should_crop("always", 0.0)
    assert not should_crop("never", 1.0)
    assert should_crop("auto", 0.5) and not should_crop("auto", 0.49) and not should_crop("auto", None)


@pytest.mark.realdata
def test_real_photos_lose_their_background(data_dir: Path) -> None:
    """Most people's photos in clothing-small get cropped; every Myntra packshot sampled stays as it is."""
    photos = sorted((data_dir / "clothing-small" / "validation").glob("*/*"))[::17][:20]
    assert photos, "clothing-small/validation is empty"
    shrunk = 0
    for p in photos:
        img = Image.open(p).convert("RGB")
        out = crop_to_object(img)
        shrunk += out.size[0] * out.size[1] < 0.9 * img.size[0] * img.size[1]
    assert shrunk >= len(photos) // 2, f"only {shrunk}/{len(photos)} photos were cropped"
    shots = sorted((data_dir / "myntra" / "images").glob("*"))[::500][:15]
    assert shots, "myntra/images is empty"
    for p in shots:
        img = Image.open(p).convert("RGB")
        assert crop_to_object(img) is img, p
