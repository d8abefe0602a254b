"""torch vs ONNX Runtime for the lite towers on this CPU, in one run (issue 15, acceptance 4).

Run: `nice -n 10 python benchmarks/cpu_runtime.py --json OUT [--images DIR]`

Both runtimes get the same thread count (`--threads`, default torch's own, passed to ONNX Runtime as intra-op threads),
the same prepared images (batches of 64, as the embed job sends them) and the same texts (batches of 64 as
the align job sends them, and single queries as a search sends them). Rounds alternate between the
runtimes so a neighbour's load on a shared machine hits both alike; the median round counts. Features of
the two runtimes are compared on every input (max absolute difference, min cosine).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[cpu_runtime {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rate(fn: Callable[[], Any], items: int) -> tuple[float, float]:
    """Items/s of one call of `fn`, and CPU seconds it used."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return items / (time.perf_counter() - t0), time.process_time() - c0


def main() -> None:
    """Measure both runtimes and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=None, help="folder of JPEGs (default: synthetic)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="threads for both runtimes; 0 = torch's default")
    args = ap.parse_args()

    import onnxruntime
    import torch
    from PIL import Image

    from moodboard.capacity.measure import image_files, synthetic_images
    from moodboard.embed.onnx_towers import OnnxLiteImageTower, OnnxMiniLMTextTower
    from moodboard.embed.towers import EfficientNetLiteTower, MiniLMTextTower

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    tmp = Path(tempfile.mkdtemp(prefix="cpu-runtime-"))
    paths = image_files(args.images, args.batch) if args.images else synthetic_images(tmp / "img", args.batch)
    log(f"{len(paths)} images, {threads} threads; loading towers (ONNX export on first use)")
    torch_img, torch_txt = EfficientNetLiteTower(), MiniLMTextTower()
    ort_img, ort_txt = OnnxLiteImageTower(tmp / "onnx", threads), OnnxMiniLMTextTower(tmp / "onnx", threads)
    batch = [torch_img.prepare(Image.open(p)) for p in paths]
    phrase = "blue cotton shirt with long sleeves for summer evenings and a matching linen scarf"
    words = phrase.split(" ")
    texts = [" ".join(words[: 3 + i % (len(words) - 3)]) + f" {i}" for i in range(args.batch)]

    a, b = torch_img.features(batch), ort_img.features(batch)
    ta, tb = torch_txt.features(texts), ort_txt.features(texts)

    def cos(x: np.ndarray, y: np.ndarray) -> float:
        return float(((x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)).min())

    parity = {
        "image_max_abs_diff": float(np.abs(a - b).max()),
        "image_min_cosine": cos(a, b),
        "text_max_abs_diff": float(np.abs(ta - tb).max()),
        "text_min_cosine": cos(ta, tb),
    }
    log(f"parity {parity}")
    cases: dict[str, dict[str, Callable[[], Any]]] = {
        "images_per_s": {"torch": lambda: torch_img.features(batch), "onnxruntime": lambda: ort_img.features(batch)},
        "texts_per_s": {"torch": lambda: torch_txt.features(texts), "onnxruntime": lambda: ort_txt.features(texts)},
    }
    singles = {"torch": lambda: [torch_txt.features([t]) for t in texts[:16]],
               "onnxruntime": lambda: [ort_txt.features([t]) for t in texts[:16]]}  # fmt: skip
    rounds: dict[str, dict[str, list[float]]] = {}
    for r in range(args.rounds):
        for metric, fns in [*cases.items(), ("single_queries_per_s", singles)]:
            n = 16 if metric == "single_queries_per_s" else args.batch
            for name, fn in fns.items():
                value, _cpu = rate(fn, n)
                rounds.setdefault(metric, {}).setdefault(name, []).append(value)
        log(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{m} torch {v['torch'][-1]:.1f} ort {v['onnxruntime'][-1]:.1f}" for m, v in rounds.items()))  # fmt: skip
    results = {m: {k: statistics.median(v) for k, v in d.items()} for m, d in rounds.items()}
    ratios = {m: d["onnxruntime"] / d["torch"] for m, d in results.items()}
    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "threads": threads,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "batch": args.batch,
        "rounds": args.rounds,
        "images": str(args.images) if args.images else "synthetic 600x800 JPEG",
        "median": results,
        "onnxruntime_over_torch": ratios,
        "parity": parity,
        "all_rounds": rounds,
    }
    args.json.write_text(json.dumps(report, indent=2))
    log(f"median {results}; ratios {ratios}")


if __name__ == "__main__":
    main()
