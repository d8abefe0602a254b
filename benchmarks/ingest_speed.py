"""Ingest throughput on Myntra: moodboard's pipeline vs a naive single-threaded decode-and-insert loop.

Run: python benchmarks/ingest_speed.py --json OUT [--data-dir ../shared/data] [--limit N]
Both runs ingest the same rows into fresh SQLite stores in temporary folders, in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

MAPPING = {"title": "productDisplayName", "category": "articleType", "color": "baseColour"}


def _subset(catalog: Path, limit: int | None, out: Path) -> Path:
    """The first `limit` rows of the catalog (image paths stay relative to the Myntra folder)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "catalog.jsonl"
    path.write_text("\n".join(catalog.read_text().splitlines()[: limit or None]) + "\n")
    return path


def run_moodboard(catalog: Path, base_dir: Path, home: Path) -> tuple[int, float]:
    """Ingest with the real pipeline (parallel decode, batched commits)."""
    from moodboard.catalog.ingest import Ingestor
    from moodboard.catalog.sources import Source
    from moodboard.catalog.store import CatalogStore
    from moodboard.core.settings import load_settings

    settings = load_settings(home=home)
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    started = time.perf_counter()
    done = [0]

    def progress(n: int, _s: object) -> None:
        done[0] += n
        print(f"\r  moodboard: {done[0]} rows", end="", file=sys.stderr)

    summary = Ingestor(store, settings.ingest, settings.thumbnails_dir, home / "report.jsonl", MAPPING).run(
        Source("jsonl", catalog, base_dir), progress
    )
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    store.close()
    return summary.accepted, elapsed


def run_naive(catalog: Path, base_dir: Path, home: Path) -> tuple[int, float]:
    """The obvious loop: for each row, decode the full image, thumbnail, hash, insert and commit."""
    import hashlib

    import imagehash
    from PIL import Image

    from moodboard.catalog.rows import validate_row
    from moodboard.catalog.store import CatalogStore, NewImage, NewPin
    from moodboard.core.settings import load_settings

    settings = load_settings(home=home)
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    started = time.perf_counter()
    n = 0
    with catalog.open() as fh:
        for i, line in enumerate(fh, start=1):
            row = validate_row(i, json.loads(line), MAPPING, base_dir, None)
            data = Path(row.image.value).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            img = Image.open(Path(row.image.value)).convert("RGB")
            thumb = img.copy()
            thumb.thumbnail((256, 256))
            rel = Path(digest[:2]) / f"{digest}.jpg"
            (settings.thumbnails_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            thumb.save(settings.thumbnails_dir / rel, "JPEG", quality=85)
            image = NewImage(digest, img.width, img.height, "JPEG", len(data), str(imagehash.phash(img)), str(rel))
            n += store.add_pins([NewPin(external_id=str(row.external_id), title=row.title, image=image)])
            if i % 200 == 0:
                print(f"\r  naive: {i} rows", end="", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    store.close()
    return n, elapsed


def main() -> None:
    """Run both ingests and write items/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    default_data = os.environ.get("MOODBOARD_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--data-dir", type=Path, default=Path(default_data))
    parser.add_argument("--limit", type=int, default=None, help="first N rows only (default: all)")
    args = parser.parse_args()
    catalog = args.data_dir / "myntra" / "catalog.jsonl"
    if not catalog.is_file():
        sys.exit(f"Myntra catalog not found at {catalog}: pass --data-dir or set MOODBOARD_DATA_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        sub = _subset(catalog, args.limit, Path(tmp) / "src")
        base = catalog.parent
        print("naive single-threaded loop ...", file=sys.stderr)
        naive_n, naive_s = run_naive(sub, base, Path(tmp) / "naive")
        print("moodboard ingest ...", file=sys.stderr)
        ours_n, ours_s = run_moodboard(sub, base, Path(tmp) / "ours")
    result = {
        "dataset": "myntra",
        "rows": ours_n,
        "naive_rows": naive_n,
        "items_per_s": round(ours_n / ours_s, 1),
        "naive_items_per_s": round(naive_n / naive_s, 1),
        "ratio": round((ours_n / ours_s) / (naive_n / naive_s), 2),
        "cpus": os.cpu_count(),
    }
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
