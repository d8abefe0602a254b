"""The index job (`moodboard index`): embed the catalog, build vector + lexical indexes, calibrate the
relevance cutoff, learn the catalog profile and vocabulary, and publish one `index` snapshot atomically.

Steps: the embed job writes (or reuses, through its content-hash cache) a `vectors` snapshot; the
vectors go into a `VectorIndex` with each pin's filter attributes; the lexical index is built from
titles, descriptions and attributes; calibration measures matched-pair and null-query scores on this
catalog (`moodboard.rank.calibration`); `write_index_snapshot` publishes everything under one manifest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.errors import InvalidInputError
from moodboard.core.records import Pin
from moodboard.core.settings import IndexSettings, Settings
from moodboard.index.attributes import ItemAttrs
from moodboard.index.bundle import PROFILE_FILE, VOCABULARY_FILE, write_index_snapshot
from moodboard.index.lexical import LexicalDoc
from moodboard.index.profile import CatalogProfile, learn_profile
from moodboard.index.vector_index import VectorIndex, make_index
from moodboard.rank.calibration import choose_cutoff, null_texts

if TYPE_CHECKING:
    from PIL import Image

    from moodboard.catalog.store import CatalogStore
    from moodboard.embed.embedder import Embedder

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total)"""


@dataclass
class IndexJobResult:
    """What a run produced."""

    snapshot: Path
    model_id: str
    count: int
    embedded: int
    cached: int
    failed: int
    calibration: dict[str, Any]
    seconds: float


def build_vector_index(
    settings: IndexSettings,
    ids: IntArray,
    vectors: FloatArray,
    pin_batches: Iterable[Sequence[Pin]],
    model_id: str,
    *,
    profile: CatalogProfile | None = None,
    sample_size: int = 0,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[VectorIndex, list[Pin]]:
    """Stream the catalog once: index the vector of every pin that has one, with its filter attributes.

    Returns the index and a uniform random sample (reservoir) of `sample_size` indexed pins, so the
    whole catalog never has to sit in memory as `Pin` objects.
    """
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    index = make_index(settings, int(vectors.shape[1]), model_id)
    rng = np.random.default_rng(seed)
    sample: list[Pin] = []
    seen = 0
    for batch in pin_batches:
        pid = np.array([p.id for p in batch], dtype=np.int64)
        if pid.size == 0 or sorted_ids.size == 0:
            continue
        pos = np.clip(np.searchsorted(sorted_ids, pid), 0, sorted_ids.size - 1)
        ok = sorted_ids[pos] == pid
        kept = [p for p, k in zip(batch, ok.tolist(), strict=True) if k]
        if not kept:
            continue
        index.add(pid[ok], vectors[order[pos[ok]]], [ItemAttrs.from_pin(p, profile) for p in kept])
        for p in kept:  # reservoir sampling (Algorithm R)
            seen += 1
            if len(sample) < sample_size:
                sample.append(p)
            else:
                j = int(rng.integers(0, seen))
                if j < sample_size:
                    sample[j] = p
        if progress:
            progress(len(index))
    return index, sample


def _noise_images(n: int, seed: int) -> list[Image.Image]:
    """Random-noise and random-gradient images: pictures of nothing a catalog sells."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if i % 2:
            arr = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
        else:
            ramp = np.linspace(0, 1, 96)[None, :, None] * rng.random(3) + rng.random(3) * 0.3
            arr = (np.clip(np.broadcast_to(ramp, (96, 96, 3)), 0, 1) * 255).astype(np.uint8)
        out.append(Image.fromarray(arr))
    return out


def _top1(index: VectorIndex, queries: FloatArray) -> FloatArray:
    _, scores = index.search(queries, 1)
    top: FloatArray = scores[:, 0]
    return top


def calibrate(
    encoder: Embedder,
    index: VectorIndex,
    pins: Sequence[Pin],
    n: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Measure the text and image relevance cutoffs of this catalog (see `moodboard.rank.calibration`).

    Args:
        encoder: the embedder the index was built with.
        index: the built vector index.
        pins: the catalog's pins (a random sample of `n` is used).
        n: matched pairs and null queries per modality.
        seed: sampling seed.
    """
    rng = np.random.default_rng(seed)
    present = index.contains(np.array([p.id for p in pins], dtype=np.int64))
    indexed = [p for p, ok in zip(pins, present.tolist(), strict=True) if ok]
    if not indexed:
        return {}
    sample = [indexed[i] for i in rng.choice(len(indexed), size=min(n, len(indexed)), replace=False)]
    own = index.get_vectors(np.array([p.id for p in sample], dtype=np.int64))
    out: dict[str, Any] = {}
    titled = [p.title for p in sample if p.title.strip()]
    if titled:
        # Text: a title's query over the whole catalog (which holds the titled item) is a query with a
        # relevant answer; the gate compares the best score, so the best score is what is sampled.
        relevant = _top1(index, encoder.embed_texts(titled))
        null = _top1(index, encoder.embed_texts(null_texts(n, seed)))
        out["text"] = choose_cutoff(relevant, null)
    # Image: leave-one-out. An item's own image stands in for a new photo of something the catalog
    # sells; its best match among the *other* items is what such a photo would score.
    ids2, scores2 = index.search(own, 2)
    sample_ids = np.array([p.id for p in sample], dtype=np.int64)
    loo = np.where(ids2[:, 0] == sample_ids, scores2[:, 1], scores2[:, 0])
    loo = loo[np.isfinite(loo)]
    if loo.size:
        null = _top1(index, encoder.embed_images(_noise_images(n, seed)))
        out["image"] = choose_cutoff(loo, null)
    out["seed"] = seed
    return out


def _docs(store: CatalogStore, index: VectorIndex, batch_size: int = 1000) -> Iterator[LexicalDoc]:
    """Lexical documents of the indexed pins, streamed from the store."""
    for batch in store.iter_pins(batch_size=batch_size):
        live = index.contains(np.array([p.id for p in batch], dtype=np.int64))
        for pin, ok in zip(batch, live.tolist(), strict=True):
            if ok:
                yield LexicalDoc.from_pin(pin)


def run_index_job(
    settings: Settings, store: CatalogStore, embedder: Embedder, *, progress: ProgressFn | None = None
) -> IndexJobResult:
    """Embed (cached), index, calibrate and publish the catalog in `settings.home`."""
    from functools import partial

    from moodboard.embed.embedder import make_embedder
    from moodboard.embed.feature_cache import FeatureCache
    from moodboard.jobs.embed_job import read_pins, run_embed_job
    from moodboard.jobs.runners import make_runner

    start = time.perf_counter()
    settings.ensure_home()
    items = list(read_pins(store, settings.thumbnails_dir))
    if not items:
        raise InvalidInputError("the catalog has no pins with images", "run `moodboard catalog ingest` first")
    cache_path = settings.layout.vector_cache
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    embedded = run_embed_job(
        items,
        embedder,
        settings.snapshots_dir,
        cache=FeatureCache(cache_path),
        batch_size=settings.embed.batch_size,
        workers=settings.embed.workers,
        settings_manifest=settings.embed.model_dump(),
        progress=(lambda done, total, _n: progress("embed", done, total)) if progress else None,
        runner=make_runner(settings.jobs),
        partition_size=settings.jobs.partition_size,
        work_url=settings.jobs.work_url or str(settings.layout.jobs),
        embedder_factory=partial(make_embedder, settings.embed, settings.snapshots_dir),
    )
    from moodboard.embed.vectors import read_vectors

    ids, vectors, _ = read_vectors(embedded.snapshot)
    if progress:
        progress("profile", 0, 1)
    from moodboard.assistant.vocabulary import Vocabulary

    profile = learn_profile(p for batch in store.iter_pins(batch_size=1000) for p in batch)
    vocabulary = Vocabulary.from_pins((p for batch in store.iter_pins(batch_size=1000) for p in batch), profile)
    if progress:
        progress("profile", 1, 1)
        progress("index", 0, len(ids))
    n_cal = settings.index.calibration_queries
    index, sample = build_vector_index(
        settings.index,
        ids,
        vectors,
        store.iter_pins(batch_size=1000),
        embedder.model_id,
        profile=profile,
        sample_size=n_cal,
        progress=(lambda done: progress("index", done, len(ids))) if progress else None,
    )
    if progress:
        progress("calibrate", 0, 1)
    calibration = calibrate(embedder, index, sample, n_cal) if len(index) else {}
    if progress:
        progress("calibrate", 1, 1)
    from moodboard.embed.object_crop import packshot_fraction

    packshots, seen = packshot_fraction([it.path for it in items])
    manifest = {
        "vectors_snapshot": embedded.snapshot.name,
        "settings": settings.index.model_dump(),
        "calibration": calibration,
        "photo_domain": {"packshot_fraction": packshots, "sampled": seen},
    }
    extra = {PROFILE_FILE: profile.to_json(), VOCABULARY_FILE: json.dumps(vocabulary.to_dict())}
    snap = write_index_snapshot(settings.snapshots_dir, index, _docs(store, index), manifest, files=extra)
    return IndexJobResult(
        snap,
        embedder.model_id,
        len(index),
        embedded.embedded,
        embedded.cached,
        len(embedded.failed),
        calibration,
        time.perf_counter() - start,
    )
