"""Measure each stage's throughput on this machine: decode, image tower, text tower, ANN query, walk, HTTP.

Single-thread rates (one vCPU) are what the planner scales to other instance types; whole-machine rates
(the embed job's own thread pool and torch threads) are what it uses to predict a local embed run. Stages
run the product's own code: the embed job's `EmbedMapper`, the lite towers, `FaissHNSWIndex`,
`PixieWalker`; the HTTP stage is a callable supplied by the caller (the CLI builds the app).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import GraphSettings, IndexSettings

log = logging.getLogger(__name__)
ProgressFn = Callable[[str], None]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True, slots=True)
class StageTiming:
    """Items per wall-clock second, per CPU second of this process, and per-call latency quantiles (s).

    On a shared machine the wall-clock rate is what this machine delivers now; the CPU-second rate of a
    single-threaded stage is what one dedicated vCPU of this kind would deliver.
    """

    per_s: float
    p50_s: float
    p99_s: float
    calls: int
    per_cpu_s: float


def timed_calls(fn: Callable[[], Any], *, min_calls: int, min_s: float, items_per_call: int = 1) -> StageTiming:
    """Call `fn` at least `min_calls` times and for at least `min_s` seconds; return its rate and latencies."""
    lat: list[float] = []
    start, cpu0 = time.perf_counter(), time.process_time()
    while len(lat) < min_calls or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    cpu = max(time.process_time() - cpu0, 1e-9)
    arr = np.asarray(lat)
    n_items = items_per_call * len(arr)
    return StageTiming(n_items / float(arr.sum()), float(np.quantile(arr, 0.5)), float(np.quantile(arr, 0.99)),
                       len(arr), n_items / cpu)  # fmt: skip


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` torch (and faiss) threads, restoring the previous counts."""
    import torch

    before = torch.get_num_threads()
    faiss: Any = None
    with contextlib.suppress(ImportError):
        import faiss as _faiss

        faiss = _faiss
    faiss_before = faiss.omp_get_max_threads() if faiss is not None else 0
    if n is not None:
        torch.set_num_threads(n)
        if faiss is not None:
            faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if faiss is not None:
            faiss.omp_set_num_threads(faiss_before)


def synthetic_images(folder: Path, n: int, size: tuple[int, int] = (600, 800), seed: int = 0) -> list[Path]:
    """Write `n` JPEG product-like photos (a coloured shape on white, light noise) and return their paths."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        im = Image.new("RGB", size, (255, 255, 255))
        draw = ImageDraw.Draw(im)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        w, h = size
        box = (int(w * 0.2), int(h * 0.15), int(w * 0.8), int(h * 0.85))
        draw.ellipse(box, fill=colour) if i % 2 else draw.rectangle(box, fill=colour)
        arr = np.asarray(im, dtype=np.int16) + rng.integers(-8, 8, (h, w, 3))
        path = folder / f"synthetic-{i:05d}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def image_files(folder: Path, limit: int) -> list[Path]:
    """The first `limit` image files under `folder`, in name order."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return files[:limit]


def lite_mapper(tower: Any) -> Any:
    """The embed job's mapper around `tower` (no aligner: the heads cost microseconds next to the tower)."""
    from moodboard.embed.aligned import TowerEmbedder
    from moodboard.jobs.embed_job import EmbedMapper

    embedder = TowerEmbedder("capacity", tower.dim, lambda: tower, lambda: tower, aligner=None, cache=None)
    return EmbedMapper(embedder, cache=None)


def measure_decode(mapper: Any, paths: Sequence[Path], workers: int, batch_size: int) -> StageTiming:
    """Images/s of the embed job's read + hash + decode + prepare step with `workers` threads."""
    from moodboard.jobs.embed_job import EmbedItem, prefetch_map

    items = [EmbedItem(i, str(p)) for i, p in enumerate(paths)]
    t0, cpu0 = time.perf_counter(), time.process_time()
    n = 0
    for _, results in prefetch_map(items, mapper.decode, batch_size=batch_size, workers=workers):
        n += sum(not isinstance(r, Exception) for r in results)
    seconds = time.perf_counter() - t0
    cpu = max(time.process_time() - cpu0, 1e-9)
    per = seconds / max(len(items), 1)
    return StageTiming(n / seconds, per, per, len(items), n / cpu)


def measure_image_tower(
    mapper: Any, decoded: Sequence[Any], batch_size: int, min_s: float, min_calls: int = 2
) -> StageTiming:
    """Images/s of the embed job's model step (tower features + normalisation) in batches of `batch_size`."""
    batch = list(decoded[:batch_size])
    mapper.embed(batch[:2])  # warm-up: first call allocates
    return timed_calls(lambda: mapper.embed(batch), min_calls=min_calls, min_s=min_s, items_per_call=len(batch))


def measure_text_tower(tower: Any, texts: Sequence[str], min_s: float) -> StageTiming:
    """Queries/s of the text tower, one query per call (as a search request runs it)."""
    it = iter(range(10**9))
    tower.features([texts[0]])

    def one() -> None:
        tower.features([texts[next(it) % len(texts)]])

    return timed_calls(one, min_calls=20, min_s=min_s)


def measure_ann(n_items: int, dim: int, min_s: float, seed: int = 0) -> StageTiming:
    """Queries/s of one k=50 query on the product's HNSW index over `n_items` random unit vectors."""
    from moodboard.embed.embedder import normalise_rows
    from moodboard.index.faiss_hnsw import FaissHNSWIndex

    rng = np.random.default_rng(seed)
    vectors = normalise_rows(rng.standard_normal((n_items, dim)).astype(np.float32))
    index = FaissHNSWIndex(IndexSettings(exact_threshold=0), dim, "capacity")
    index.add(np.arange(n_items, dtype=np.int64), vectors)
    queries = normalise_rows(rng.standard_normal((256, dim)).astype(np.float32))
    it = iter(range(10**9))

    def one() -> None:
        i = next(it) % len(queries)
        index.search(queries[i : i + 1], 50)

    one()
    return timed_calls(one, min_calls=200, min_s=min_s)


def measure_walk(n_pins: int, n_boards: int, n_edges: int, min_s: float, seed: int = 0) -> StageTiming:
    """Walks/s of one default Pixie walk (GraphSettings steps) from one query pin on a power-law graph."""
    from moodboard.graph.build import BoardPinArrays, EventArrays, build_graph
    from moodboard.graph.random_walk import PixieWalker

    rng = np.random.default_rng(seed)
    sizes = np.minimum(rng.pareto(1.5, n_boards) + 1.0, n_pins)
    board = rng.choice(n_boards, n_edges, p=sizes / sizes.sum()).astype(np.int64)
    pin = np.minimum(rng.zipf(1.3, n_edges) - 1, n_pins - 1).astype(np.int64)
    keys = np.unique(board * n_pins + pin)
    graph = build_graph(EventArrays.empty(), BoardPinArrays(keys // n_pins, keys % n_pins))
    walker = PixieWalker(graph)
    gs = GraphSettings()
    degrees = np.asarray(graph.pin_degree(np.arange(graph.n_pins, dtype=np.int32)), dtype=np.float64)
    starts = rng.choice(graph.n_pins, 256, p=degrees / degrees.sum()).astype(np.int32)
    it = iter(range(10**9))

    def one() -> None:
        i = next(it)
        walker.walk(starts[i % len(starts) : i % len(starts) + 1], np.ones(1, np.float32), steps=gs.walk_steps,
                    restart=gs.restart_prob, n_p=gs.n_p, n_v=gs.n_v, seed=i)  # fmt: skip

    one()  # compiles (numba caches the machine code on disk)
    return timed_calls(one, min_calls=50, min_s=min_s)


@dataclass(frozen=True, slots=True)
class MeasureOptions:
    """How much to measure; the defaults keep a run near a minute on a busy 2-core machine."""

    images: Path | None = None
    sample: int = 192
    batch_size: int = 64
    workers: int = 0
    min_s: float = 2.0
    ann_items: int = 30_000
    ann_dim: int = 256
    walk_pins: int = 20_000
    clip: bool = True
    threads_at_load: bool = False


TowerLoader = Callable[[int], Any]
"""Builds a tower with the given number of threads (0 = the runtime's default)."""


def _torch_image_tower(_threads: int) -> Any:
    from moodboard.embed.towers import EfficientNetLiteTower

    return EfficientNetLiteTower()


def _torch_text_tower(_threads: int) -> Any:
    from moodboard.embed.towers import MiniLMTextTower

    return MiniLMTextTower()


def measure_all(
    opts: MeasureOptions,
    texts: Sequence[str],
    http: Callable[[], Any] | None = None,
    progress: ProgressFn | None = None,
    image_tower: TowerLoader = _torch_image_tower,
    text_tower: TowerLoader = _torch_text_tower,
) -> dict[str, Any]:
    """Measure every stage and return a JSON-ready dict: per-vCPU rates, p99s, whole-machine rates, load time.

    The towers come from the loaders (the configured runtime); a runtime whose thread count is fixed when
    the tower is built (`opts.threads_at_load`, ONNX Runtime) gets a second, single-threaded tower.
    """
    say = progress or (lambda _m: None)
    cpus = os.cpu_count() or 1
    workers = opts.workers or cpus
    out: dict[str, Any] = {"vcpus": cpus, "workers": workers, "batch_size": opts.batch_size, "stages": {}}
    stages: dict[str, Any] = out["stages"]
    with tempfile.TemporaryDirectory(prefix="moodboard-capacity-") as tmp:
        if opts.images is not None:
            paths = image_files(opts.images, opts.sample)
            out["images"] = {"source": str(opts.images), "count": len(paths)}
        else:
            paths = synthetic_images(Path(tmp), opts.sample)
            out["images"] = {"source": "synthetic 600x800 JPEG", "count": len(paths)}
        if not paths:
            from moodboard.core.errors import InvalidInputError

            raise InvalidInputError(f"no images under {opts.images}", "pass a folder of JPEG/PNG files")
        say("loading the image tower")
        t0 = time.perf_counter()
        tower = image_tower(0)
        out["load_s"] = time.perf_counter() - t0
        out["runtime"] = type(tower).__name__
        mapper = lite_mapper(tower)
        mapper1 = lite_mapper(image_tower(1)) if opts.threads_at_load else mapper
        say(f"decode: {len(paths)} images, 1 thread and {workers} threads")
        with torch_threads(1):
            stages["decode"] = _asdict(measure_decode(mapper, paths, 1, opts.batch_size))
        stages["decode_machine"] = _asdict(measure_decode(mapper, paths, workers, opts.batch_size))
        decoded = [mapper.decode(_item(p)) for p in paths[: opts.batch_size]]
        say("image tower (lite): 1 thread and every thread")
        with torch_threads(1):
            stages["image_tower"] = _asdict(measure_image_tower(mapper1, decoded, 8, opts.min_s))
        # four full batches: the local embed prediction rests on this rate, and neighbours' load varies
        machine = measure_image_tower(mapper, decoded, opts.batch_size, opts.min_s, min_calls=4)
        stages["image_tower_machine"] = _asdict(machine)
        if opts.clip:
            say("image tower (CLIP ViT-B/32 architecture, random weights: speed only)")
            clip = _clip_rate(opts.min_s)
            if clip is not None:
                stages["image_tower_clip-vit-b-32"] = _asdict(clip)
        say("text tower: one query per call")
        text1 = text_tower(1)
        with torch_threads(1):
            stages["text_tower"] = _asdict(measure_text_tower(text1, texts, opts.min_s))
            say(f"ANN: HNSW over {opts.ann_items:,} vectors")
            stages["ann"] = _asdict(measure_ann(opts.ann_items, opts.ann_dim, opts.min_s))
            say(f"walk: Pixie walks on a {opts.walk_pins:,}-pin graph")
            stages["walk"] = _asdict(
                measure_walk(opts.walk_pins, opts.walk_pins // 10, opts.walk_pins * 10, opts.min_s)
            )
        if http is not None:
            say("HTTP: requests through the app")
            http()
            stages["http"] = _asdict(timed_calls(http, min_calls=100, min_s=opts.min_s))
    return out


def _item(path: Path) -> Any:
    from moodboard.jobs.embed_job import EmbedItem

    return EmbedItem(0, str(path))


def _asdict(t: StageTiming) -> dict[str, float]:
    return {"per_s": t.per_s, "per_cpu_s": t.per_cpu_s, "p50_s": t.p50_s, "p99_s": t.p99_s, "calls": t.calls}


def _clip_rate(min_s: float) -> StageTiming | None:
    """Single-thread images/s of the CLIP ViT-B/32 image tower (random init: speed does not need weights)."""
    try:
        import open_clip
        import torch
    except ImportError:
        log.warning("open_clip is not installed: CLIP's CPU rate is not measured")
        return None
    model = open_clip.create_model("ViT-B-32", pretrained=None).visual.eval()
    x = torch.randn(8, 3, 224, 224)
    with torch_threads(1), torch.inference_mode():
        model(x[:1])
        return timed_calls(lambda: model(x), min_calls=2, min_s=min_s, items_per_call=len(x))


def profile_from(measured: dict[str, Any]) -> Any:
    """The planner's `LocalProfile` from the dict `measure_all` returned (or a saved copy of it)."""
    from moodboard.capacity.planner import LocalProfile

    st = measured["stages"]
    # one dedicated vCPU: items per CPU second of the single-threaded runs; latencies shrink by the same ratio
    per_vcpu = {
        k: float(st[k]["per_cpu_s"]) for k in ("decode", "image_tower", "text_tower", "ann", "walk", "http") if k in st
    }
    towers = {"lite": per_vcpu.pop("image_tower")}
    if "image_tower_clip-vit-b-32" in st:
        towers["clip-vit-b-32"] = float(st["image_tower_clip-vit-b-32"]["per_cpu_s"])
    p99 = {
        k: float(st[k]["p99_s"]) * min(1.0, float(st[k]["per_s"]) / float(st[k]["per_cpu_s"]))
        for k in ("text_tower", "ann", "walk", "http")
        if k in st
    }
    return LocalProfile(
        per_vcpu=per_vcpu,
        image_tower=towers,
        p99_s=p99,
        machine_decode=float(st["decode_machine"]["per_s"]),
        machine_image_tower=float(st["image_tower_machine"]["per_s"]),
        load_s=float(measured.get("load_s", 0.0)),
        vcpus=int(measured.get("vcpus", 1)),
    )
