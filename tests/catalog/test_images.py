"""Image decoding details: the fast pHash, object cropping, thumbnails reuse."""

from __future__ import annotations

import os
from pathlib import Path

import imagehash
from PIL import Image

from moodboard.catalog.images import ImageLimits, phash, process_image_file, trim_border
from tests.imagegen import make_image, make_photo


def test_phash_has_the_same_bits_as_imagehash(tmp_path: Path) -> None:
    for seed in range(20):
        make_photo(tmp_path / f"{seed}.png", seed=seed, size=150)
        img = Image.open(tmp_path / f"{seed}.png").convert("RGB")
        assert phash(img) == str(imagehash.phash(img))


def test_object_crop_removes_uniform_margins(tmp_path: Path) -> None:
    make_image(tmp_path / "a.png", "red", "square", size=120)
    crop = trim_border(Image.open(tmp_path / "a.png").convert("RGB"))
    assert crop.size == (81, 81)


def test_small_upright_jpeg_is_its_own_thumbnail_and_large_ones_are_shrunk(tmp_path: Path) -> None:
    make_photo(tmp_path / "small.png", seed=1, size=100)
    Image.open(tmp_path / "small.png").save(tmp_path / "small.jpg", quality=90)
    make_photo(tmp_path / "big.png", seed=2, size=900)
    limits = ImageLimits(thumbnail_px=256)
    small = process_image_file(tmp_path / "small.jpg", limits, tmp_path / "t")
    assert (tmp_path / "t" / small.thumbnail_path).read_bytes() == (tmp_path / "small.jpg").read_bytes()
    big = process_image_file(tmp_path / "big.png", limits, tmp_path / "t")
    thumb = Image.open(tmp_path / "t" / big.thumbnail_path)
    assert thumb.format == "JPEG" and max(thumb.size) == 256 and (big.width, big.height) == (900, 900)


def test_sweep_removes_temp_thumbnails_of_dead_processes_only(tmp_path: Path) -> None:
    import subprocess
    import sys

    from moodboard.catalog.images import TEMP_DIR, sweep_stale_temp

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    temp = tmp_path / TEMP_DIR
    temp.mkdir()
    (temp / f"{'a' * 64}.{dead.pid}.tmp").write_bytes(b"half a jpeg")  # its writer was killed
    (temp / f"{'b' * 64}.{os.getppid()}.tmp").write_bytes(b"being written")  # a live writer's
    (temp / "junk.tmp").write_bytes(b"?")  # no pid: nobody can be writing it
    assert sweep_stale_temp(tmp_path) == 2
    assert [p.name for p in temp.iterdir()] == [f"{'b' * 64}.{os.getppid()}.tmp"]
    assert sweep_stale_temp(tmp_path / "missing") == 0
