"""Moodboard homes for tests, built the way a user builds one: `moodboard ingest` then `moodboard index`.

`build_home` (from `moodboard.cli.homes`, shared with the benchmarks) writes nothing by hand into the
home: it runs the real CLI commands in-process, so the served app is what `moodboard serve` serves.
`write_catalog` draws a small JSONL catalog with images for it.
`index_pins` is the in-process shortcut for unit tests of the search and assistant layers: the same
index snapshot (vectors, lexical index, catalog profile, vocabulary) from pins without images.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moodboard.assistant.vocabulary import Vocabulary
from moodboard.cli.homes import FAST_API, build_home, cli, home_env
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings
from moodboard.embed.fake import FakeEmbedder
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import (
    PROFILE_FILE,
    VOCABULARY_FILE,
    SearchIndex,
    load_index_snapshot,
    write_index_snapshot,
)
from moodboard.index.lexical import LexicalDoc
from moodboard.index.profile import learn_profile
from moodboard.index.vector_index import make_index
from moodboard.rank.search import SearchService
from tests.imagegen import COLOURS, SHAPES, make_image

__all__ = ["FAST_API", "build_home", "cli", "home_env", "index_pins", "service_over", "write_catalog"]


def write_catalog(folder: Path, rows: Iterable[Mapping[str, Any]], size: int = 64) -> Path:
    """Write a JSONL catalog with one drawn image per row (`colour`/`shape` pick the picture)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for n, row in enumerate(rows):
        colour = str(row.get("draw_colour", list(COLOURS)[n % len(COLOURS)]))
        shape = str(row.get("draw_shape", SHAPES[n % len(SHAPES)]))
        name = f"img{n}.png"
        make_image(folder / name, colour if colour in COLOURS else "red", shape, size=size)
        _vary_background(folder / name, n)
        out = {k: v for k, v in row.items() if not k.startswith("draw_")}
        out.setdefault("image", name)
        lines.append(json.dumps(out))
    path = folder / "catalog.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _vary_background(path: Path, n: int) -> None:
    """Give each drawn image its own background shade, so no two items share a picture."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    arr = np.asarray(img).copy()
    grey = (arr == 128).all(axis=2)
    arr[grey] = (60 + (n * 37) % 140, 60 + (n * 53) % 140, 60 + (n * 71) % 140)
    Image.fromarray(arr).save(path)


def index_pins(pins: Sequence[Pin], root: Path, dim: int = 32, settings: IndexSettings | None = None) -> SearchIndex:
    """The index snapshot `moodboard index` would write for `pins` (title vectors from the fake embedder)."""
    enc = FakeEmbedder(dim=dim)
    settings = settings or IndexSettings(facet_pool=200)
    profile = learn_profile(pins)
    vocabulary = Vocabulary.from_pins(pins, profile)
    vectors = make_index(settings, enc.dim, enc.model_id)
    ids = np.array([p.id for p in pins], dtype=np.int64)
    vectors.add(ids, enc.embed_texts([p.title for p in pins]), [ItemAttrs.from_pin(p, profile) for p in pins])
    files = {PROFILE_FILE: profile.to_json(), VOCABULARY_FILE: json.dumps(vocabulary.to_dict())}
    snap = write_index_snapshot(root, vectors, (LexicalDoc.from_pin(p) for p in pins), {}, files=files)
    return load_index_snapshot(snap, settings)


def service_over(
    index: SearchIndex, pins: Sequence[Pin], dim: int = 32, settings: IndexSettings | None = None
) -> SearchService:
    """A search service over `index` with the fake embedder and an in-memory pin lookup."""
    by_id = {p.id: p for p in pins}
    enc = FakeEmbedder(dim=dim)
    cfg = settings or IndexSettings(facet_pool=200)
    return SearchService(lambda: index, lambda: enc, cfg, lambda ids: {i: by_id[i] for i in ids if i in by_id})
