"""`moodboard train align` end to end: catalog pins → cached tower features → aligner snapshot → lite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from moodboard.catalog.images import ImageLimits, process_image_file
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.settings import EmbedSettings, Settings
from moodboard.embed import make_embedder
from moodboard.embed.aligner import AlignerConfig
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower
from moodboard.jobs.align_job import read_pairs, run_align_job


@pytest.fixture()
def home(tmp_path: Path, shape_pairs: list[tuple[Image.Image, str]]) -> Settings:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    pins = []
    for i, (img, caption) in enumerate(shape_pairs):
        path = tmp_path / "src" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        img.save(path)
        colour, shape = caption.split()
        image = process_image_file(path, ImageLimits(), settings.thumbnails_dir)
        pins.append(
            NewPin(f"p{i}", f"{colour} {shape} print", category=shape, color=colour, source_uri=str(path), image=image)
        )
    store.add_pins(pins)
    store.close()
    return settings


def test_read_pairs_builds_text_variants(home: Settings) -> None:
    store = CatalogStore.open(home.database_url)
    pairs = list(read_pairs(store, home.thumbnails_dir))
    store.close()
    assert len(pairs) == 12
    assert pairs[0].texts[0] == "red circle print" and "red circle" in pairs[0].texts
    assert pairs[0].category == "circle"


def test_align_job_writes_snapshot_and_reuses_features(home: Settings) -> None:
    store = CatalogStore.open(home.database_url)
    items = list(read_pairs(store, home.thumbnails_dir))
    store.close()
    itower, ttower = EfficientNetLiteTower(), MiniLMTextTower()
    cache = FeatureCache(home.home / "cache" / "features.sqlite")
    cfg = AlignerConfig(dim=16, hidden=32, epochs=4, batch_size=8, val_fraction=0.0, patience=0)
    first = run_align_job(items, itower, ttower, home.snapshots_dir, cfg, cache=cache, batch_size=5, workers=2)
    assert first.pairs == 12 and first.computed_images == 12 and not first.failed
    manifest = json.loads((first.snapshot / "manifest.json").read_text())
    assert manifest["kind"] == "aligner" and manifest["counts"]["pairs"] == 12
    assert manifest["image_tower"] == itower.tower_id and len(manifest["history"]) == 4
    again = run_align_job(items, itower, ttower, home.snapshots_dir, cfg, cache=cache, batch_size=5)
    assert again.computed_images == 0  # every frozen feature came from the content-hash cache
    emb = make_embedder(EmbedSettings(backend="lite"), home.snapshots_dir)
    assert emb.model_id == f"lite:{again.snapshot.name}:{16 + 64}"  # joint space + image-only block


def test_cli_train_align_then_embed(home: Settings) -> None:
    from moodboard.cli.main import build_app

    app = build_app()
    runner = CliRunner()
    res = runner.invoke(app, ["--home", str(home.home), "train", "align", "--epochs", "3", "--json"])
    assert res.exit_code == 0, res.output
    trained = json.loads(res.stdout.strip().splitlines()[-1])
    assert trained["pairs"] == 12
    res = runner.invoke(app, ["--home", str(home.home), "embed", "--json"])
    assert res.exit_code == 0, res.output
    first = json.loads(res.stdout.strip().splitlines()[-1])
    assert (first["total"], first["embedded"], first["failed"]) == (12, 12, 0)
    assert first["model_id"].startswith("lite:")
    res = runner.invoke(app, ["--home", str(home.home), "embed", "--json"])
    second = json.loads(res.stdout.strip().splitlines()[-1])
    assert (second["embedded"], second["cached"]) == (0, 12)


def test_pins_without_category_get_no_category_label() -> None:
    """Category strata group every pin; the category loss ignores pins whose category is empty."""
    import numpy as np

    from moodboard.jobs.align_job import PairFeatures, PairItem, training_data

    items = [PairItem(str(i), f"{i}.png", (f"t{i}",), cat) for i, cat in enumerate(["Jeans", "", "jeans", "Caps"])]
    data = training_data(PairFeatures(items, np.zeros((4, 3), np.float32), [np.zeros((4, 2), np.float32)]))
    assert data.strata is not None and data.labels is not None
    assert data.strata.tolist() == [0, 1, 0, 2]
    assert data.labels.tolist() == [0, -1, 0, 2]


def _photo_dir(root: Path, shape_pairs: list[tuple[Image.Image, str]]) -> Path:
    """People's photos stand-in: the shapes pasted on a grey background, one folder per class name."""
    folder = root / "photos"
    for i, (img, caption) in enumerate(shape_pairs):
        shape = caption.split()[1]
        (folder / f"my-{shape}").mkdir(parents=True, exist_ok=True)
        canvas = Image.new("RGB", (96, 96), (120, 120, 120))
        canvas.paste(img.convert("RGB").resize((64, 64)), (16, 16))
        canvas.save(folder / f"my-{shape}" / f"{i}.jpg")
    return folder


def test_read_labelled_photos_and_class_mapping(tmp_path: Path, shape_pairs: list[tuple[Image.Image, str]]) -> None:
    from moodboard.core.errors import InvalidInputError
    from moodboard.jobs.align_job import read_labelled_photos

    folder = _photo_dir(tmp_path, shape_pairs)
    plain = read_labelled_photos(folder)
    assert len(plain) == 12 and {p.categories for p in plain} == {(d.name,) for d in folder.iterdir()}
    mapping = {d.name: [d.name.removeprefix("my-"), "other"] for d in folder.iterdir()}
    mapped = read_labelled_photos(folder, mapping)
    assert all(p.categories == (mapping[Path(p.path).parent.name][0], "other") for p in mapped)
    with pytest.raises(InvalidInputError, match="not in the class mapping"):
        read_labelled_photos(folder, {"my-nothing": ["x"]})
    flat = tmp_path / "flat"
    flat.mkdir()
    shape_pairs[0][0].save(flat / "a.png")
    with pytest.raises(InvalidInputError, match="no photos"):
        read_labelled_photos(flat)  # files but no class folders
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_labelled_photos(tmp_path / "missing")


def test_cli_train_align_with_photos(
    home: Settings, tmp_path: Path, shape_pairs: list[tuple[Image.Image, str]]
) -> None:
    """`train align --photos DIR --photo-classes MAP` fits the image block on the photos (and says so)."""
    from moodboard.cli.main import build_app

    folder = _photo_dir(tmp_path, shape_pairs)
    mapping = tmp_path / "classes.json"
    mapping.write_text(json.dumps({d.name: [d.name.removeprefix("my-")] for d in folder.iterdir()}))
    runner = CliRunner()
    args = ["--home", str(home.home), "train", "align", "--epochs", "2", "--json", "--photos", str(folder)]
    res = runner.invoke(build_app(), [*args, "--photo-classes", str(mapping)])
    assert res.exit_code == 0, res.output
    snap = Path(json.loads(res.stdout.strip().splitlines()[-1])["snapshot"])
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["image_block"] == "photo adapter" and manifest["photos"] == 12
    # without the mapping the folder names ("my-circle") are no pin category: a clear error, exit != 0
    res = runner.invoke(build_app(), args)
    assert res.exit_code != 0 and "category" in str(res.exception)


def test_cli_align_index_and_search_on_open_clip(
    home: Settings, tiny_open_clip_dir: Path, shape_pairs: list[tuple[Image.Image, str]], tmp_path: Path
) -> None:
    """The adapter path on open_clip through the CLI: train align → index → text and image search."""
    from moodboard.cli.main import build_app

    env = {
        "MOODBOARD_EMBED__BACKEND": "open_clip",
        "MOODBOARD_EMBED__CHECKPOINT": str(tiny_open_clip_dir),
        "MOODBOARD_EMBED__OPEN_CLIP_ADAPTER": "true",
    }
    runner = CliRunner()
    base = ["--home", str(home.home)]
    res = runner.invoke(build_app(), [*base, "train", "align", "--epochs", "2", "--json"], env=env)
    assert res.exit_code == 0, res.output
    snap = json.loads(res.stdout.strip().splitlines()[-1])["snapshot"]
    spec = json.loads((Path(snap) / "aligner.json").read_text())
    assert spec["image_tower"].startswith("open_clip-image:") and spec["image_extra"][1] > spec["image_extra"][0]
    res = runner.invoke(build_app(), [*base, "index", "--json"], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(build_app(), [*base, "search", "red circle", "--json"], env=env)
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["results"] and all("vector" in r["sources"] or "lexical" in r["sources"] for r in body["results"])
    photo = tmp_path / "query.png"
    shape_pairs[0][0].save(photo)
    res = runner.invoke(build_app(), [*base, "search", "--image", str(photo), "--json", "--no-cutoff"], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["results"][0]["external_id"] == "p0"  # the catalog image finds itself
