"""Embedding throughput: the batched embed job against a naive per-image loop, same images, same run.

Run: `python benchmarks/embed_speed.py --json OUT`, or call `measure_embed_speed()` (search_speed.py
reports its `embed_speedup_vs_naive`). The model is the offline `lite` embedder (EfficientNet-Lite0
tower + aligner heads). Its heads here are untrained: throughput does not depend on their weights, and
the benchmark must not need a trained snapshot. Both paths run without any cache, so every image is
decoded and embedded. Images: the first N Myntra images when the shared data is present, else
generated JPEGs of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _images(n: int, data_dir: Path | None, folder: Path) -> list[Path]:
    if data_dir is not None and (data_dir / "myntra" / "images").is_dir():
        found = sorted((data_dir / "myntra" / "images").glob("*.jpg"))[:n]
        if len(found) == n:
            return found
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
        path = folder / f"gen{i}.jpg"
        Image.fromarray(arr).save(path, quality=90)
        paths.append(path)
    return paths


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure_embed_speed(
    n_images: int = 256,
    *,
    batch_size: int = 64,
    workers: int = 2,
    threads: int = 2,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Time the embed job and a naive loop (open, embed one image, repeat) on the same images.

    Returns:
        `embed_speedup_vs_naive` (naive seconds / job seconds), both throughputs in images/s, and the
        largest difference between the vectors of the two paths (they must agree).
    """
    import torch
    from PIL import Image

    from moodboard.embed.aligned import TowerEmbedder
    from moodboard.embed.aligner import Aligner, AlignerConfig, AlignerSpec, build_heads
    from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower
    from moodboard.embed.vectors import read_vectors
    from moodboard.jobs.embed_job import EmbedItem, run_embed_job

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tower = EfficientNetLiteTower()
    spec = AlignerSpec(AlignerConfig(), tower.tower_id, MiniLMTextTower.tower_id, tower.dim, MiniLMTextTower.dim)
    aligner = Aligner(spec, build_heads(spec))
    embedder = TowerEmbedder(
        "lite:speed-bench", spec.config.dim, lambda: tower, MiniLMTextTower, aligner, cache=None, batch_size=batch_size
    )
    with tempfile.TemporaryDirectory(prefix="embed-speed-") as tmp:
        paths = _images(n_images, data_dir, Path(tmp))
        embedder.embed_images([Image.new("RGB", (224, 224))] * 2)  # warm-up, not timed

        _log(f"naive loop over {len(paths)} images")
        t = time.perf_counter()
        naive = []
        for p in paths:
            with Image.open(p) as im:
                naive.append(embedder.embed_images([im.convert("RGB")])[0])
        naive_s = time.perf_counter() - t

        _log(f"batched job (batch {batch_size}, {workers} decode threads)")
        items = [EmbedItem(i, str(p)) for i, p in enumerate(paths)]
        t = time.perf_counter()
        res = run_embed_job(
            items, embedder, Path(tmp) / "snapshots", cache=None, batch_size=batch_size, workers=workers
        )
        job_s = time.perf_counter() - t
        ids, vecs, _ = read_vectors(res.snapshot)
    diff = float(np.abs(vecs[np.argsort(ids)] - np.stack(naive)).max())
    return {
        "embed_speedup_vs_naive": naive_s / job_s,
        "embed_naive_images_per_s": len(paths) / naive_s,
        "embed_batched_images_per_s": len(paths) / job_s,
        "embed_images": len(paths),
        "embed_batch_size": batch_size,
        "embed_decode_workers": workers,
        "embed_torch_threads": threads,
        "embed_max_abs_diff_batched_vs_naive": diff,
        "embed_model": "lite (EfficientNet-Lite0 tower + heads), cpu",
    }


def main() -> None:
    """CLI entry: run the measurement and write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    env = os.environ.get("MOODBOARD_DATA_DIR")
    data_dir = args.data_dir or (Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data")
    out = measure_embed_speed(
        args.images, batch_size=args.batch_size, workers=args.workers, threads=args.threads, data_dir=data_dir
    )
    args.json.write_text(json.dumps(out, indent=2, sort_keys=True))
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
