"""Shop the look on composite scenes (issue 13): Recall@100/@20 of each scene's products, and latency.

Run: `flock /tmp/moodboard-bench.lock python benchmarks/shop_the_look.py --json OUT` (MOODBOARD_DATA_DIR or
../shared/data).

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
`--scene-kinds standard,crowded`: "standard" is the scene above; "crowded" is closer to a furnished room:
4-7 products, each 15-40 % of the scene's height, overlapping up to 30 % (later ones hide earlier ones),
each with its brightness, contrast and colour balance shifted and slightly blurred, so no crop is
pixel-identical to its packshot.
Real photos (`--real-photos N`, Myntra only): N people's photos of clothes (clothing-small/test, no
composite), each judged as `benchmarks/search_quality.py` does: P@10 of results whose articleType fits
the photo's class (`CLASS_TO_ARTICLE_TYPES`), for the merged list against whole image and single crop;
also the time shop the look takes on each (what an assistant photo turn adds when it answers regions).

Embedder: the lite image tower's raw EfficientNet-Lite0 head features (`head_avg`, L2-normalised), a
query encoder that needs no trained aligner, run by `--runtime` (default onnx: ONNX Runtime, what
`moodboard serve` uses by default; torch is the slower alternative); with `--home` pointing to a
moodboard home that has one, the home's configured embedder is used instead. Catalog features are
cached under --cache-dir.
All methods run in the same process on the same index and scenes, through `SearchService`:
- whole image: the scene as one image query (`photo_object_crop = never`);
- single crop: the current `/search` path for uploads to a packshot catalog (GrabCut main object);
- shop the look: `ShopTheLook` with the classical proposer and default `LookSettings`, merged list;
- oracle boxes: the pasted products' true boxes as regions (the ceiling for a better proposer).
Latency of shop the look per scene (1.0 MP), split into decode (the scene as a JPEG upload, checked
and decoded as `POST /search/look` does), proposals, embedding and search, p50/p95, with the runtime
limited to `--threads` (default 2) threads; `total` is decode + answer; `cpu` is the process's CPU
time per request (all threads), which other jobs on a shared machine inflate far less than wall-clock.
`--latency-only` skips the baselines and the oracle.
"""

from __future__ import annotations

import argparse
import csv
import io
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

from moodboard.catalog.images import ImageLimits, open_checked
from moodboard.catalog.rows import validate_row
from moodboard.catalog.sources import open_source
from moodboard.core.arrays import FloatArray
from moodboard.core.records import Pin
from moodboard.core.settings import EmbedSettings, IndexSettings, LookSettings
from moodboard.embed.feature_cache import FeatureCache
from moodboard.embed.features import image_features
from moodboard.embed.lite import lite_image_tower
from moodboard.embed.regions import ClassicalProposer, ProposalConfig, Region
from moodboard.embed.towers import ImageTower
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import SearchIndex
from moodboard.index.vector_index import make_index
from moodboard.rank.metrics import precision_at_k, recall_at_k
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

    def __init__(self, tower: ImageTower, cache: FeatureCache | None) -> None:
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


@dataclass(frozen=True)
class SceneKind:
    """How a composite is laid out: products per scene, their size, overlap and photometric change."""

    name: str
    products: tuple[int, int]  # inclusive range
    height: tuple[float, float]  # fraction of the scene's height
    max_overlap: float
    jitter: bool


SCENE_KINDS = {
    "standard": SceneKind("standard", (2, 4), (0.28, 0.45), 0.15, False),
    "crowded": SceneKind("crowded", (4, 7), (0.15, 0.40), 0.30, True),
}


def photometric(obj: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The RGBA cut-out with brightness, contrast and colour balance shifted and a slight blur (a room's light)."""
    from PIL import ImageFilter

    rgb = np.asarray(obj.convert("RGB"), dtype=np.float32)
    mean = rgb.mean(axis=(0, 1), keepdims=True)
    rgb = (rgb - mean) * rng.uniform(0.75, 1.1) + mean  # contrast
    rgb = rgb * rng.uniform(0.7, 1.1) * rng.uniform(0.9, 1.1, size=(1, 1, 3))  # brightness, white balance
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    out.putalpha(obj.getchannel("A"))
    return out


def make_scene(catalog: Catalog, backgrounds: list[Path], rng: np.random.Generator, kind: SceneKind) -> Scene:
    """Paste packshots of distinct categories on a random background, as `kind` says."""
    canvas = background(backgrounds[int(rng.integers(len(backgrounds)))])
    sw, sh = SCENE_SIZE
    n = int(rng.integers(kind.products[0], kind.products[1] + 1))
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
        target = rng.uniform(*kind.height) * sh
        scale = target / max(obj.width, obj.height)
        obj = obj.resize(
            (max(8, round(obj.width * scale)), max(8, round(obj.height * scale))), Image.Resampling.BICUBIC
        )
        if kind.jitter:
            obj = photometric(obj, rng)
        for _ in range(40):
            x, y = int(rng.integers(0, sw - obj.width)), int(rng.integers(0, sh - obj.height))
            box = (x, y, x + obj.width, y + obj.height)
            if all(_overlap(box, b) <= kind.max_overlap for b in boxes):
                break
        canvas.paste(obj, (x, y), obj)
        ids.append(catalog.pins[i].id)
        boxes.append(box)
    return Scene(canvas, ids, boxes)


def pct(values: list[float], q: float) -> float:
    """Percentile q (0..100)."""
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


@dataclass
class Bench:
    """One catalog's index and the services every method runs through."""

    catalog: Catalog
    plain: SearchService
    cropped: SearchService
    look: ShopTheLook
    by_id: dict[int, Pin]


def build_bench(catalog: Catalog, encoder: Any, look_settings: LookSettings, proposal: ProposalConfig) -> Bench:
    """Embed the catalog (cached), build its index and the search services."""
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
        return SearchService(
            lambda: index, lambda: encoder.query, s, lambda pids: {i: by_id[i] for i in pids}, crop=_crop
        )

    plain = service("never")
    return Bench(
        catalog, plain, service("always"), ShopTheLook(plain, ClassicalProposer(proposal), look_settings), by_id
    )


def _crop(image: Any) -> Any:
    from moodboard.embed.object_crop import crop_to_object

    return crop_to_object(image)


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def evaluate_scenes(
    bench: Bench, backgrounds: list[Path], kind: SceneKind, n_scenes: int, seed: int, latency_only: bool = False
) -> dict[str, Any]:
    """Build `n_scenes` composites of one kind and measure every method on them."""
    rng = np.random.default_rng(seed)
    ranked: dict[str, list[list[int]]] = {m: [] for m in ("whole", "crop", "look", "oracle")}
    relevant: list[set[int]] = []
    keys = ("decode", "proposals", "embedding", "search", "total", "cpu")
    timings: dict[str, list[float]] = {k: [] for k in keys}
    n_regions: list[int] = []
    limits = ImageLimits(max_file_bytes=20 * 1024 * 1024, max_pixels=40_000_000)
    for n in range(n_scenes):
        scene = make_scene(bench.catalog, backgrounds, rng, kind)
        relevant.append(set(scene.pin_ids))
        upload = _jpeg(scene.image)
        req = SearchRequest(image=scene.image, k=100, mode="vector", cutoff=False, facets=())
        if not latency_only:
            ranked["whole"].append([h.pin_id for h in bench.plain.search(req).hits])
            ranked["crop"].append([h.pin_id for h in bench.cropped.search(req).hits])
        cpu0, t0 = time.process_time(), time.perf_counter()
        photo = open_checked(upload, limits).image  # what the route decodes
        decode_ms = (time.perf_counter() - t0) * 1000
        answer = bench.look.answer(photo, k=100)
        cpu_ms = (time.process_time() - cpu0) * 1000  # CPU time of all threads: robust to other jobs' load
        ranked["look"].append([h.pin_id for h, _ in answer.merged])
        timings["decode"].append(decode_ms)
        for key in ("proposals", "embedding", "search"):
            timings[key].append(answer.timings_ms[key])
        timings["total"].append(decode_ms + answer.timings_ms["total"])
        timings["cpu"].append(cpu_ms)
        n_regions.append(len(answer.regions))
        if not latency_only:
            oracle = ShopTheLook(bench.plain, _FixedProposer(scene), LookSettings(max_regions=8))
            ranked["oracle"].append([h.pin_id for h, _ in oracle.answer(scene.image, k=100).merged])
        if (n + 1) % 10 == 0:
            log(
                f"{bench.catalog.name}/{kind.name}: {n + 1}/{n_scenes} scenes; "
                f"look p95 so far {pct(timings['total'], 95):.0f} ms"
            )

    def padded(rows: list[list[int]]) -> np.ndarray:
        return np.array([r + [-1] * (100 - len(r)) for r in rows], dtype=np.int64)

    out: dict[str, Any] = {
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
        for base, prefix in (("whole_image", "whole_image_"), ("single_crop", "single_crop_")):
            out[f"ratio_vs_{base}_at_100"] = round(out["recall_at_100"] / max(out[f"{prefix}recall_at_100"], 1e-9), 2)
    out["regions_per_scene"] = float(np.mean(n_regions))
    out["latency_ms"] = {k: {"p50": round(pct(v, 50), 1), "p95": round(pct(v, 95), 1)} for k, v in timings.items()}
    return out


def evaluate_real_photos(bench: Bench, photos: list[Path]) -> dict[str, Any]:
    """People's photos of one garment each: P@10 of class-compatible articleTypes, look vs baselines."""
    sys.path.insert(0, str(Path(__file__).parent))
    from search_quality import CLASS_TO_ARTICLE_TYPES

    ranked: dict[str, list[list[int]]] = {"whole": [], "crop": [], "look": [], "look_top_region": []}
    relevant: list[set[int]] = []
    regions: list[int] = []
    wall: list[float] = []
    cpu: list[float] = []
    for n, path in enumerate(photos):
        wanted = CLASS_TO_ARTICLE_TYPES[path.parent.name]
        relevant.append({p.id for p in bench.catalog.pins if p.category in wanted})
        image = Image.open(path).convert("RGB")
        req = SearchRequest(image=image, k=10, mode="vector", cutoff=False, facets=())
        ranked["whole"].append([h.pin_id for h in bench.plain.search(req).hits])
        ranked["crop"].append([h.pin_id for h in bench.cropped.search(req).hits])
        cpu0, t0 = time.process_time(), time.perf_counter()
        answer = bench.look.answer(image, k=10)  # what an assistant photo turn adds when it answers regions
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - cpu0) * 1000)
        ranked["look"].append([h.pin_id for h, _ in answer.merged])
        ranked["look_top_region"].append([h.pin_id for h in answer.regions[0].hits])
        regions.append(len(answer.regions))
        if (n + 1) % 50 == 0:
            log(f"real photos: {n + 1}/{len(photos)}")

    def padded(rows: list[list[int]]) -> np.ndarray:
        return np.array([r + [-1] * (10 - len(r)) for r in rows], dtype=np.int64)

    out: dict[str, Any] = {
        "photos": len(photos),
        "split": "clothing-small/test",
        "regions_per_photo": float(np.mean(regions)),
    }
    for method, rows in ranked.items():
        out[f"{method}_precision_at_10"] = round(precision_at_k(padded(rows), relevant, 10), 4)
    out["look_ms"] = {"p50": round(pct(wall, 50), 1), "p95": round(pct(wall, 95), 1)}
    out["look_cpu_ms"] = {"p50": round(pct(cpu, 50), 1), "p95": round(pct(cpu, 95), 1)}
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


def make_encoders(home: str | None, cache_dir: Path, runtime: str, threads: int) -> Encoders:
    """The bench head-feature encoder, or the embedder configured in a moodboard home."""
    if home:
        from moodboard.core.settings import load_settings
        from moodboard.embed.embedder import make_embedder

        settings = load_settings(home=Path(home))
        embedder = make_embedder(settings.embed, settings.snapshots_dir)
        return Encoders(embedder, embedder)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tower = lite_image_tower(EmbedSettings(runtime=runtime), cache_dir / "snapshots", threads)  # type: ignore[arg-type]
    return Encoders(
        HeadFeatureEncoder(tower, FeatureCache(cache_dir / "features.sqlite")), HeadFeatureEncoder(tower, None)
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--data-dir", default=os.environ.get("MOODBOARD_DATA_DIR", "../shared/data"))
    ap.add_argument("--scenes", type=int, default=40, help="scenes per dataset and scene kind")
    ap.add_argument("--scene-kinds", default="standard,crowded", help=f"of {', '.join(SCENE_KINDS)} ('' = none)")
    ap.add_argument("--real-photos", type=int, default=100, help="clothing-small photos (Myntra only; 0 = none)")
    ap.add_argument("--real-split", default="test", help="clothing-small split of the real photos")
    ap.add_argument("--myntra-items", type=int, default=2000)
    ap.add_argument("--datasets", default="myntra,flipkart")
    ap.add_argument("--home", default=None, help="moodboard home whose embedder to use (default: raw head features)")
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/moodboard-bench-look"))
    ap.add_argument("--runtime", choices=("onnx", "torch"), default="onnx", help="what runs the image tower")
    ap.add_argument("--threads", "--torch-threads", type=int, default=2, help="threads of the image tower")
    ap.add_argument("--max-regions", type=int, default=None, help="look.max_regions (default: LookSettings')")
    ap.add_argument("--border-sigma", type=float, default=None, help="background prior's sigma (0 = off)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latency-only", action="store_true", help="time shop the look only (no baselines, no oracle)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    data = Path(args.data_dir)
    if not (data / "clothing-small").is_dir():
        raise SystemExit(f"no clothing-small under {data}: set MOODBOARD_DATA_DIR or --data-dir")
    backgrounds = sorted((data / "clothing-small" / "test").rglob("*.jpg"))
    encoders = make_encoders(args.home, args.cache_dir, args.runtime, args.threads)
    look_settings = LookSettings() if args.max_regions is None else LookSettings(max_regions=args.max_regions)
    proposal = ProposalConfig() if args.border_sigma is None else ProposalConfig(border_sigma=args.border_sigma)
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
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_start": os.getloadavg()[0],
        "runtime": args.runtime,
        "threads": args.threads,
        "embedder": encoders.query.model_id,
        "scene_pixels": SCENE_SIZE[0] * SCENE_SIZE[1],
        "look_settings": look_settings.model_dump(),
        "proposal_config": proposal.__dict__,
        "datasets": {},
    }
    for name in args.datasets.split(","):
        started = time.perf_counter()
        bench = build_bench(loaders[name](), encoders, look_settings, proposal)
        entry: dict[str, Any] = {"catalog_items": len(bench.catalog.pins)}
        for kind_name in filter(None, args.scene_kinds.split(",")):
            kind = SCENE_KINDS[kind_name]
            entry[kind_name] = evaluate_scenes(bench, backgrounds, kind, args.scenes, args.seed, args.latency_only)
            log(f"{name}/{kind_name}: {json.dumps({k: v for k, v in entry[kind_name].items() if 'recall' in k})}")
        if name == "myntra" and args.real_photos and not args.latency_only:
            photos = sorted(p for p in (data / "clothing-small" / args.real_split).glob("*/*.jpg"))
            pick = np.random.default_rng(args.seed).choice(
                len(photos), min(args.real_photos, len(photos)), replace=False
            )
            entry["real_photos"] = evaluate_real_photos(bench, [photos[i] for i in sorted(pick.tolist())])
            entry["real_photos"]["split"] = f"clothing-small/{args.real_split}"
            log(f"{name}/real photos: {json.dumps(entry['real_photos'])}")
        entry["seconds"] = round(time.perf_counter() - started, 1)
        results["datasets"][name] = entry
    # headline keys (issue 13): means over the datasets, on the standard composites
    for key in ("recall_at_100", "whole_image_recall_at_100"):
        values = [d["standard"][key] for d in results["datasets"].values() if key in d.get("standard", {})]
        results[key] = float(np.mean(values)) if values else None
    results["load_average_end"] = os.getloadavg()[0]
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
