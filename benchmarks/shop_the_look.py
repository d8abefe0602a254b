"""Shop the look on composite scenes (issue 13): Recall@100/@20 of each scene's products, and latency.

Run: `nice -n 10 python benchmarks/shop_the_look.py --json OUT` (MOODBOARD_DATA_DIR or ../shared/data).

Catalogs, ingested through a field mapping (`moodboard.catalog.rows.validate_row`, as `moodboard ingest`):
- Myntra: a seeded sample of `--myntra-items` rows of `catalog.jsonl` (title=productDisplayName,
  category=articleType, color=baseColour);
- Flipkart: every row of `products.csv` with an image (title=product_name, category=the first three
  levels of product_category_tree, which this script derives into a column before mapping).
Scenes, built here with known ground truth (seed 0): a real background (a photo of clothes taken by a
person, from clothing-small/test, scaled and cropped to 1152x864 = 1.0 megapixel) with 2-4 catalog
packshots pasted on it, their white studio background removed (near-white pixels connected to the
border become transparent), each 28-45 % of the scene's height, placed at random with little overlap.
A scene's relevant set is the products pasted into it; the index holds the whole catalog sample.

Embedder: the lite image tower's raw EfficientNet-Lite0 head features (`head_avg`, L2-normalised), a
query encoder that needs no trained aligner; with `--home` pointing to a moodboard home that has one,
the home's configured embedder is used instead. Catalog features are cached under --cache-dir.
All methods run in the same process on the same index and scenes, through `SearchService`:
- whole image: the scene as one image query (`photo_object_crop = never`);
- single crop: the current `/search` path for uploads to a packshot catalog (GrabCut main object);
- shop the look: `ShopTheLook` with the classical proposer and default `LookSettings`, merged list;
- oracle boxes: the pasted products' true boxes as regions (the ceiling for a better proposer).
Latency of shop the look per scene (1.0 MP), split into proposals, embedding and search, p50/p95,
with torch limited to `--torch-threads` (default 2) threads; `cpu` is the process's CPU time per
request (all threads), which other jobs on a shared machine inflate far less than wall-clock time.
`--latency-only` skips the baselines and the oracle.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from moodboard.catalog.rows import validate_row
from moodboard.catalog.sources import open_source
from moodboard.core.arrays import FloatArray
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings, LookSettings
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.features import image_features
from moodboard.embed.regions import ClassicalProposer, Region
from moodboard.embed.towers import EfficientNetLiteTower
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import SearchIndex
from moodboard.index.vector_index import make_index
from moodboard.rank.metrics import recall_at_k
from moodboard.rank.search import SearchRequest, SearchService
from moodboard.rank.shop_the_look import ShopTheLook

SCENE_SIZE = (1152, 864)


def log(msg: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(f"[shop_the_look {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


class HeadFeatureEncoder:
    """Query/catalog encoder: EfficientNet-Lite0 `head_avg` features, L2-normalised (no aligner needed)."""

    model_id = "bench:efficientnet-lite0-head_avg"

    def __init__(self, tower: EfficientNetLiteTower, cache: FeatureCache | None) -> None:
        """Wrap the tower; `cache` caches features by pixel hash (catalog images only)."""
        self.tower, self.cache = tower, cache
        start = 0
        for name, n in tower.groups:
            if name == "head_avg":
                self.span = (start, start + n)
            start += n
        self.dim = self.span[1] - self.span[0]

    def embed_images(self, images: list[Any]) -> FloatArray:
        """(n, dim) unit vectors."""
        feats = np.concatenate(
            [image_features(self.tower, images[s : s + 32], self.cache) for s in range(0, len(images), 32)]
        )[:, self.span[0] : self.span[1]]
        return (feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def embed_texts(self, texts: list[str]) -> FloatArray:
        """Not used here (image queries only)."""
        raise NotImplementedError


@dataclass
class Catalog:
    """A catalog sample: pins and their image paths."""

    name: str
    pins: list[Pin]
    paths: list[Path]


def flipkart_rows(folder: Path) -> list[dict[str, Any]]:
    """products.csv rows with a derived `category_path` column (first three levels of the category tree)."""
    rows = []
    with (folder / "products.csv").open(newline="", encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            tree = raw.get("product_category_tree", "").strip('[]"')
            raw["category_path"] = " > ".join(p.strip() for p in tree.split(">>")[:3])
            rows.append(raw)
    return rows


def load_catalog(name: str, rows: list[dict[str, Any]], mapping: dict[str, str], base: Path) -> Catalog:
    """Map and validate rows as ingest does; keep rows whose image exists."""
    pins, paths = [], []
    for i, raw in enumerate(rows):
        try:
            row = validate_row(i, raw, mapping, base, default_currency="INR")
        except Exception:  # a rejected row is skipped, as ingest reports and skips it
            continue
        if row.image is None or row.image.kind != "path" or not Path(row.image.value).is_file():
            continue
        pins.append(Pin(len(pins) + 1, row.external_id or str(i), row.title, category=row.category, color=row.color))
        paths.append(Path(row.image.value))
    log(f"{name}: {len(pins)} pins mapped")
    return Catalog(name, pins, paths)


def cutout(path: Path) -> Image.Image:
    """The packshot as RGBA with its white studio background made transparent."""
    import cv2

    rgb = np.asarray(Image.open(path).convert("RGB"))
    white = (rgb.min(axis=2) >= 235).astype(np.uint8)
    h, w = white.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    bg = np.zeros_like(white)
    for y, x in ((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (0, w // 2), (h - 1, w // 2)):
        if white[y, x] and not bg[y, x]:
            mask = white.copy()
            cv2.floodFill(mask, flood, (x, y), 2)
            bg |= (mask == 2).astype(np.uint8)
    alpha = np.where(bg > 0, 0, 255).astype(np.uint8)
    alpha = cv2.GaussianBlur(cv2.erode(alpha, np.ones((3, 3), np.uint8)), (3, 3), 0)
    out = Image.fromarray(np.dstack([rgb, alpha]))
    ys, xs = np.nonzero(alpha > 0)
    return out.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)) if len(xs) else out


def background(path: Path) -> Image.Image:
    """A clothing-small photo scaled to cover the scene size and centre-cropped to it."""
    im = Image.open(path).convert("RGB")
    sw, sh = SCENE_SIZE
    scale = max(sw / im.width, sh / im.height)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
    left, top = (im.width - sw) // 2, (im.height - sh) // 2
    return im.crop((left, top, left + sw, top + sh))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return iw * ih / max(1, min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])))


@dataclass
class Scene:
    """A composite scene and its ground truth."""

    image: Image.Image
    pin_ids: list[int]
    boxes: list[tuple[int, int, int, int]]


def make_scene(catalog: Catalog, backgrounds: list[Path], rng: np.random.Generator) -> Scene:
    """Paste 2-4 packshots of distinct categories on a random background."""
    canvas = background(backgrounds[int(rng.integers(len(backgrounds)))])
    sw, sh = SCENE_SIZE
    n = int(rng.integers(2, 5))
    chosen: list[int] = []
    cats: set[str | None] = set()
    while len(chosen) < n:
        i = int(rng.integers(len(catalog.pins)))
        if catalog.pins[i].category not in cats:
            chosen.append(i)
            cats.add(catalog.pins[i].category)
    ids, boxes = [], []
    for i in chosen:
        obj = cutout(catalog.paths[i])
        target = rng.uniform(0.28, 0.45) * sh
        scale = target / max(obj.width, obj.height)
        obj = obj.resize(
            (max(8, round(obj.width * scale)), max(8, round(obj.height * scale))), Image.Resampling.BICUBIC
        )
        for _ in range(40):
            x, y = int(rng.integers(0, sw - obj.width)), int(rng.integers(0, sh - obj.height))
            box = (x, y, x + obj.width, y + obj.height)
            if all(_overlap(box, b) <= 0.15 for b in boxes):
                break
        canvas.paste(obj, (x, y), obj)
        ids.append(catalog.pins[i].id)
        boxes.append(box)
    return Scene(canvas, ids, boxes)


def pct(values: list[float], q: float) -> float:
    """Percentile q (0..100)."""
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def evaluate(
    catalog: Catalog, encoder: Any, backgrounds: list[Path], n_scenes: int, seed: int, latency_only: bool = False
) -> dict[str, Any]:
    """Build the index and scenes for one catalog and measure every method on them."""
    t0 = time.perf_counter()
    vecs = []
    for s in range(0, len(catalog.paths), 64):
        ims = [Image.open(p).convert("RGB") for p in catalog.paths[s : s + 64]]
        vecs.append(encoder.catalog.embed_images(ims))
        if (s // 64) % 5 == 0:
            log(f"{catalog.name}: embedded {min(s + 64, len(catalog.paths))}/{len(catalog.paths)} catalog images")
    vectors = np.concatenate(vecs)
    settings = IndexSettings()
    index_vectors = make_index(settings, vectors.shape[1], encoder.query.model_id)
    ids = np.array([p.id for p in catalog.pins], dtype=np.int64)
    index_vectors.add(ids, vectors, [ItemAttrs.from_pin(p) for p in catalog.pins])
    index = SearchIndex(index_vectors, None, {"photo_domain": {"packshot_fraction": 1.0}})
    by_id = {p.id: p for p in catalog.pins}
    log(f"{catalog.name}: index of {len(ids)} built in {time.perf_counter() - t0:.0f}s")

    def service(crop: str) -> SearchService:
        s = IndexSettings(photo_object_crop=crop)  # type: ignore[arg-type]
        return SearchService(lambda: index, lambda: encoder.query, s, lambda pids: {i: by_id[i] for i in pids})

    plain, cropped = service("never"), service("always")
    look = ShopTheLook(plain, ClassicalProposer(), LookSettings())
    rng = np.random.default_rng(seed)
    ranked: dict[str, list[list[int]]] = {m: [] for m in ("whole", "crop", "look", "oracle")}
    relevant: list[set[int]] = []
    timings: dict[str, list[float]] = {"proposals": [], "embedding": [], "search": [], "total": [], "cpu": []}
    n_regions: list[int] = []
    for n in range(n_scenes):
        scene = make_scene(catalog, backgrounds, rng)
        relevant.append(set(scene.pin_ids))
        req = SearchRequest(image=scene.image, k=100, mode="vector", cutoff=False, facets=())
        if not latency_only:
            ranked["whole"].append([h.pin_id for h in plain.search(req).hits])
            ranked["crop"].append([h.pin_id for h in cropped.search(req).hits])
        cpu0 = time.process_time()
        answer = look.answer(scene.image, k=100)
        cpu_ms = (time.process_time() - cpu0) * 1000  # CPU time of all threads: robust to other jobs' load
        ranked["look"].append([h.pin_id for h, _ in answer.merged])
        for key in ("proposals", "embedding", "search", "total"):
            timings[key].append(answer.timings_ms[key])
        timings["cpu"].append(cpu_ms)
        n_regions.append(len(answer.regions))
        if not latency_only:
            oracle = ShopTheLook(plain, _FixedProposer(scene), LookSettings(max_regions=8))
            ranked["oracle"].append([h.pin_id for h, _ in oracle.answer(scene.image, k=100).merged])
        if (n + 1) % 10 == 0:
            log(f"{catalog.name}: {n + 1}/{n_scenes} scenes; look p95 so far {pct(timings['total'], 95):.0f} ms")

    def padded(rows: list[list[int]]) -> np.ndarray:
        return np.array([r + [-1] * (100 - len(r)) for r in rows], dtype=np.int64)

    out: dict[str, Any] = {
        "catalog_items": len(ids),
        "scenes": n_scenes,
        "products_per_scene": float(np.mean([len(r) for r in relevant])),
    }
    names = {"whole": "whole_image_", "crop": "single_crop_", "look": "", "oracle": "oracle_boxes_"}
    for method, prefix in names.items():
        if not ranked[method]:
            continue
        for k in (100, 20):
            out[f"{prefix}recall_at_{k}"] = round(recall_at_k(padded(ranked[method]), relevant, k), 4)
    if not latency_only:
        out["ratio_vs_whole_image_at_100"] = round(
            out["recall_at_100"] / max(out["whole_image_recall_at_100"], 1e-9), 2
        )
        out["ratio_vs_single_crop_at_100"] = round(
            out["recall_at_100"] / max(out["single_crop_recall_at_100"], 1e-9), 2
        )
    out["regions_per_scene"] = float(np.mean(n_regions))
    out["latency_ms"] = {k: {"p50": round(pct(v, 50), 1), "p95": round(pct(v, 95), 1)} for k, v in timings.items()}
    return out


class _FixedProposer:
    """The scene's true boxes plus the whole image: the ceiling of region proposals."""

    name = "oracle"

    def __init__(self, scene: Scene) -> None:
        self.scene = scene

    def propose(self, rgb: np.ndarray, max_regions: int) -> list[Region]:
        h, w = rgb.shape[:2]
        return [*(Region(b, 1.0, "truth") for b in self.scene.boxes), Region((0, 0, w, h), 0.0, "whole")]


@dataclass
class Encoders:
    """Catalog-side (cached) and query-side (uncached) encoders of one model."""

    catalog: Any
    query: Any


def make_encoders(home: str | None, cache_dir: Path) -> Encoders:
    """The bench head-feature encoder, or the embedder configured in a moodboard home."""
    if home:
        from moodboard.core.settings import load_settings
        from moodboard.embed.embedder import make_embedder

        settings = load_settings(home=Path(home))
        embedder = make_embedder(settings.embed, settings.snapshots_dir)
        return Encoders(embedder, embedder)
    tower = EfficientNetLiteTower()
    cache_dir.mkdir(parents=True, exist_ok=True)
    return Encoders(
        HeadFeatureEncoder(tower, FeatureCache(cache_dir / "features.sqlite")), HeadFeatureEncoder(tower, None)
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--data-dir", default=os.environ.get("MOODBOARD_DATA_DIR", "../shared/data"))
    ap.add_argument("--scenes", type=int, default=60, help="scenes per dataset")
    ap.add_argument("--myntra-items", type=int, default=2000)
    ap.add_argument("--datasets", default="myntra,flipkart")
    ap.add_argument("--home", default=None, help="moodboard home whose embedder to use (default: raw head features)")
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/moodboard-bench-look"))
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latency-only", action="store_true", help="time shop the look only (no baselines, no oracle)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.torch_threads)
    data = Path(args.data_dir)
    if not (data / "clothing-small").is_dir():
        raise SystemExit(f"no clothing-small under {data}: set MOODBOARD_DATA_DIR or --data-dir")
    backgrounds = sorted((data / "clothing-small" / "test").rglob("*.jpg"))
    encoders = make_encoders(args.home, args.cache_dir)
    loaders: dict[str, Callable[[], Catalog]] = {
        "myntra": lambda: _myntra(data, args.myntra_items, args.seed),
        "flipkart": lambda: load_catalog(
            "flipkart",
            flipkart_rows(data / "flipkart"),
            {
                "id": "uniq_id",
                "title": "product_name",
                "category": "category_path",
                "image": "image",
                "price": "discounted_price",
            },
            data / "flipkart" / "images",
        ),
    }
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared dev box, busy with other jobs)",
        "torch_threads": args.torch_threads,
        "embedder": encoders.query.model_id,
        "scene_pixels": SCENE_SIZE[0] * SCENE_SIZE[1],
        "datasets": {},
    }
    for name in args.datasets.split(","):
        started = time.perf_counter()
        results["datasets"][name] = evaluate(
            loaders[name](), encoders, backgrounds, args.scenes, args.seed, args.latency_only
        )
        results["datasets"][name]["seconds"] = round(time.perf_counter() - started, 1)
        log(f"{name}: {json.dumps({k: v for k, v in results['datasets'][name].items() if 'recall' in k})}")
    for key in ("recall_at_100", "whole_image_recall_at_100"):  # means over the datasets
        values = [d[key] for d in results["datasets"].values() if key in d]
        results[key] = float(np.mean(values)) if values else None
    args.json.write_text(json.dumps(results, indent=2))
    sys.stdout.write(json.dumps(results, indent=2) + "\n")


def _myntra(data: Path, n: int, seed: int) -> Catalog:
    """A seeded sample of n Myntra rows, mapped as ingest would."""
    source = open_source(data / "myntra" / "catalog.jsonl")
    rows = [r.fields for r in source.rows() if r.error is None]
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False).tolist())
    mapping = {"title": "productDisplayName", "category": "articleType", "color": "baseColour", "image": "image"}
    return load_catalog("myntra", [rows[i] for i in pick], mapping, data / "myntra")


if __name__ == "__main__":
    main()
