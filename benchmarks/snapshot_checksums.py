"""What the snapshot checksums cost: write and load of a Myntra-sized index snapshot with and without them.

Usage: `python benchmarks/snapshot_checksums.py --json OUT [--n 44446] [--dim 256] [--backend faiss]`

Builds a vector index of `n` random unit vectors (44,446 = the full Myntra fashion catalog) with a lexical
index of generated titles, writes it as an `index` snapshot (which now hashes every file), then times:
the baseline (`load_index_snapshot` minus the verification, i.e. opening the vector and lexical index),
the full verification (size + SHA-256 of every file) and the size-only check `/readyz` runs per call.
Also SHA-256 vs BLAKE2b vs CRC32 throughput on the same bytes, to show the digest choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.core.settings import IndexSettings
from moodboard.core.snapshot import checksum_files, verify_snapshot
from moodboard.index.bundle import write_index_snapshot
from moodboard.index.lexical import LEXICAL_FILE, LexicalDoc, LexicalIndex
from moodboard.index.vector_index import load_vector_index, make_index

WORDS = [
    "red",
    "blue",
    "navy",
    "black",
    "white",
    "slim",
    "fit",
    "cotton",
    "shirt",
    "dress",
    "jeans",
    "kurta",
    "saree",
    "shoe",
    "sneaker",
    "watch",
    "bag",
]


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(f"[snapshot_checksums {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def best_of(fn: Any, repeat: int = 3) -> float:
    """Fastest of `repeat` timings of `fn()` in seconds (the file cache is warm after the first)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def throughput(data: bytes) -> dict[str, float]:
    """MB/s of each candidate digest over `data`."""
    out = {}
    for name, fn in (
        ("sha256", lambda b: hashlib.sha256(b).digest()),
        ("blake2b", lambda b: hashlib.blake2b(b).digest()),
        ("crc32", lambda b: zlib.crc32(b)),
    ):
        out[name] = round(len(data) / 1e6 / best_of(lambda fn=fn: fn(data)), 0)
    return out


def main() -> None:
    """Run the measurement and write the JSON result."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--n", type=int, default=44_446)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--backend", default="faiss", choices=["faiss", "exact"])
    args = ap.parse_args()
    settings = IndexSettings(backend=args.backend, exact_threshold=0)
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1, args.n + 1, dtype=np.int64)
    log(f"building a {args.backend} index of {args.n:,} x {args.dim}")
    index = make_index(settings, args.dim, "bench:rand")
    index.add(ids, vecs)
    docs = (LexicalDoc(int(i), " ".join(rng.choice(WORDS, 6))) for i in ids)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log("writing the snapshot (includes hashing every file)")
        t0 = time.perf_counter()
        snap = write_index_snapshot(root, index, docs, {"calibration": {}})
        write_s = time.perf_counter() - t0
        total_bytes = sum(p.stat().st_size for p in snap.rglob("*") if p.is_file())
        hash_s = best_of(lambda: checksum_files(snap))
        log("timing loads")

        def open_only() -> None:
            load_vector_index(snap / "vectors", settings)
            LexicalIndex.open(snap / LEXICAL_FILE).close()

        load_s = best_of(open_only)
        verify_s = best_of(lambda: verify_snapshot(snap))
        sizes_s = best_of(lambda: verify_snapshot(snap, full=False), repeat=20)
        sample = (snap / "vectors").rglob("*")
        biggest = max((p for p in sample if p.is_file()), key=lambda p: p.stat().st_size)
        speeds = throughput(biggest.read_bytes())
    result = {
        "n": args.n,
        "dim": args.dim,
        "backend": args.backend,
        "snapshot_mb": round(total_bytes / 1e6, 1),
        "write_s_with_checksums": round(write_s, 3),
        "checksum_s": round(hash_s, 3),
        "checksum_share_of_write": round(hash_s / write_s, 3),
        "load_s_without_verify": round(load_s, 3),
        "verify_s": round(verify_s, 3),
        "load_verify_ratio": round((load_s + verify_s) / load_s, 2),
        "size_check_ms": round(sizes_s * 1000, 3),
        "digest_mb_per_s": speeds,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    log(json.dumps(result))


if __name__ == "__main__":
    main()
