"""The embedding job: pins → decoded images (thread pool) → batched embedder → versioned vector snapshot.

Reader → mapper → writer, as in clip-retrieval: `read_pins` yields work items from the catalog store,
`EmbedPartitionMapper` turns one partition of items into vectors (decoding runs in worker threads while
the previous batch is on the model) on a `JobRunner` (local, or Ray actors: `jobs/runner.py`), each
partition is written resumably, and `write_vectors` publishes an immutable `vectors` snapshot.
A content-hash cache (keyed by model id and image hash) makes a re-run embed nothing it has seen.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodboard.catalog.images import ImageLimits, open_checked, read_capped
from moodboard.core.arrays import FloatArray, IntArray
from moodboard.core.layout import HomeLayout
from moodboard.embed.aligned import TowerEmbedder
from moodboard.embed.embedder import Embedder
from moodboard.embed.feature_cache import FeatureCache, content_hash
from moodboard.embed.features import image_digest, prepared_image_features
from moodboard.embed.vectors import write_vectors
from moodboard.jobs.prefetch import prefetch_map
from moodboard.jobs.runner import JobRunner, LocalRunner, PartitionOutput, PartitionStore, make_partitions

if TYPE_CHECKING:
    from moodboard.catalog.store import CatalogStore
    from moodboard.core.records import Pin

# --------------------------------------------------------------------------------------------------
# reader


@dataclass(frozen=True, slots=True)
class EmbedItem:
    """One image to embed: the pin it belongs to, where its bytes are, and its content hash if known."""

    pin_id: int
    path: str
    content_hash: str | None = None


def pin_image_path(pin: Pin, thumbnails_dir: Path | None) -> str | None:
    """The best image file of a pin: its original (`source_uri`) if readable, else its thumbnail."""
    if pin.source_uri and Path(pin.source_uri).is_file():
        return pin.source_uri
    if pin.image is not None and pin.image.thumbnail_path:
        thumb = Path(pin.image.thumbnail_path)
        if not thumb.is_absolute() and thumbnails_dir is not None:
            thumb = thumbnails_dir / thumb
        if thumb.is_file():
            return str(thumb)
    return None


def read_pins(store: CatalogStore, thumbnails_dir: Path | None = None, batch_size: int = 1000) -> Iterator[EmbedItem]:
    """Yield an `EmbedItem` for every pin with an image (original `source_uri`, else its thumbnail)."""
    for pins in store.iter_pins(batch_size=batch_size):
        for pin in pins:
            path = pin_image_path(pin, thumbnails_dir)
            if path:
                yield EmbedItem(pin.id, path, pin.image.content_hash if pin.image else None)


# --------------------------------------------------------------------------------------------------
# mapper


@dataclass(frozen=True, slots=True)
class _Decoded:
    digest: str
    payload: Any  # a PIL image, or a tower-prepared array when the embedder has a frozen tower
    pixel_digest: str = ""  # key of the frozen-tower feature cache (shared with `train align`)


class EmbedMapper:
    """Turns batches of items into vectors, skipping items whose (model, content hash) is cached."""

    def __init__(self, embedder: Embedder, cache: FeatureCache | None, limits: ImageLimits | None = None) -> None:
        """Use `embedder`; `cache` stores final vectors keyed by model id and content hash."""
        self.embedder = embedder
        self.cache = cache
        self.limits = limits or ImageLimits()
        tower = getattr(embedder, "image_tower", None) if isinstance(embedder, TowerEmbedder) else None
        self._tower = tower

    def decode(self, item: EmbedItem) -> _Decoded:
        """Read, hash and decode one image (runs in a worker thread); prepares tower input if possible."""
        data = read_capped(Path(item.path), self.limits.max_file_bytes)
        digest = content_hash(data)
        image = open_checked(data, self.limits).image
        if self._tower is None:
            return _Decoded(digest, image)
        return _Decoded(digest, self._tower.prepare(image), image_digest(image))

    def embed(self, decoded: Sequence[_Decoded]) -> FloatArray:
        """Embed a batch of decoded items on the model; (n, dim)."""
        if not decoded:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        if self._tower is not None:
            assert isinstance(self.embedder, TowerEmbedder)
            # frozen-tower features are cached by pixel hash, so images `train align` already ran through
            # the tower are not computed again (regression: the index job recomputed every image)
            feats, _ = prepared_image_features(
                self._tower, [d.payload for d in decoded], [d.pixel_digest for d in decoded], self.embedder.cache
            )
            return self.embedder.project_image_features(feats)
        return self.embedder.embed_images([d.payload for d in decoded])


# --------------------------------------------------------------------------------------------------
# writer


@dataclass
class EmbedJobResult:
    """What a run did: the snapshot it wrote and its counts."""

    snapshot: Path
    model_id: str
    dim: int
    total: int
    embedded: int
    cached: int
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    partitions_computed: list[int] = field(default_factory=list)
    partitions_reused: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# runner

ProgressFn = Callable[[int, int, int], None]
"""progress(done, total, embedded_so_far)"""


@dataclass
class EmbedPartitionMapper:
    """The job's mapper: embeds one partition (cache first, decode in threads while the model runs).

    Items whose known content hash is cached for this model are never decoded; items whose hash is only
    learnt while reading are looked up before they reach the model. Failed images are reported, not fatal.
    """

    embedder: Embedder
    cache: FeatureCache | None
    batch_size: int = 64
    workers: int = 0
    limits: ImageLimits | None = None

    def __call__(self, items: Sequence[EmbedItem]) -> PartitionOutput:
        """Embed `items`; arrays `ids` (n,) int64 and `vectors` (n, d), meta holds counts and failures."""
        mapper = EmbedMapper(self.embedder, self.cache, self.limits)
        cache = self.cache
        model_key = f"vector:{self.embedder.model_id}"
        known = [it.content_hash for it in items if it.content_hash]
        hits = cache.get_many(model_key, known) if cache is not None else {}
        out: dict[int, FloatArray] = {}
        failed: dict[int, str] = {}
        cached = embedded = 0
        todo: list[EmbedItem] = []
        for it in items:
            if it.content_hash and it.content_hash in hits:
                out[it.pin_id] = hits[it.content_hash]
                cached += 1
            else:
                todo.append(it)
        n_workers = self.workers or os.cpu_count() or 1
        for batch, results in prefetch_map(todo, mapper.decode, batch_size=self.batch_size, workers=n_workers):
            good: list[tuple[EmbedItem, _Decoded]] = []
            for it, res in zip(batch, results, strict=True):
                if isinstance(res, Exception):
                    failed[it.pin_id] = str(res)
                else:
                    good.append((it, res))
            late = cache.get_many(model_key, [d.digest for _, d in good]) if cache is not None else {}
            fresh = [(it, d) for it, d in good if d.digest not in late]
            for it, d in good:
                if d.digest in late:
                    out[it.pin_id] = late[d.digest]
                    cached += 1
            vecs = mapper.embed([d for _, d in fresh])  # (len(fresh), dim)
            for (it, _), v in zip(fresh, vecs, strict=True):
                out[it.pin_id] = v
            if cache is not None and fresh:
                cache.put_many(model_key, ((d.digest, v) for (_, d), v in zip(fresh, vecs, strict=True)))
            embedded += len(fresh)
        ids = np.array(sorted(out), dtype=np.int64)
        vectors = (
            np.stack([out[i] for i in ids]).astype(np.float32)
            if len(ids)
            else np.zeros((0, self.embedder.dim), dtype=np.float32)
        )
        meta = {"embedded": embedded, "cached": cached, "failed": {str(k): v for k, v in failed.items()}}
        return PartitionOutput({"ids": ids, "vectors": vectors}, meta)


@dataclass(frozen=True)
class EmbedMapperFactory:
    """Builds the embed mapper in a worker: from `embedder_factory` when given (Ray actors load their own
    model), else around the `embedder` object itself; the cache is reopened from its path per worker."""

    embedder: Embedder | None
    embedder_factory: Callable[[], Embedder] | None
    cache_path: Path | None
    batch_size: int
    workers: int
    limits: ImageLimits | None

    def __call__(self) -> EmbedPartitionMapper:
        """A mapper for this worker."""
        embedder = self.embedder_factory() if self.embedder_factory is not None else self.embedder
        assert embedder is not None
        cache = FeatureCache(self.cache_path) if self.cache_path is not None else None
        return EmbedPartitionMapper(embedder, cache, self.batch_size, self.workers, self.limits)


def item_key(item: EmbedItem) -> str:
    """What identifies an item's input in a partition key: pin id, image path and known content hash."""
    return f"{item.pin_id}|{item.path}|{item.content_hash or ''}"


def embed_work_url(work_url: str, model_id: str, partition_size: int) -> str:
    """The folder of one embed job's partitions: one per (model, partition size), so runs never mix."""
    tag = hashlib.sha256(f"{model_id}|{partition_size}".encode()).hexdigest()[:16]
    return f"{work_url.rstrip('/')}/embed-{tag}"


def run_embed_job(
    items: Sequence[EmbedItem],
    embedder: Embedder,
    snapshots_dir: Path,
    *,
    cache: FeatureCache | None,
    batch_size: int = 64,
    workers: int = 0,
    limits: ImageLimits | None = None,
    settings_manifest: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    runner: JobRunner | None = None,
    partition_size: int = 1000,
    work_url: str | None = None,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> EmbedJobResult:
    """Embed every item as resumable partitions on `runner` (local by default), then write a snapshot.

    Partitions go to `work_url` (default `<snapshots_dir>/../jobs`, any fsspec URL); a killed run, rerun,
    recomputes only the partitions that were not done. Once all are done their vectors are gathered into
    one `vectors` snapshot (`ids.npy`, `vectors.npy`, sorted by id) and the partitions are deleted.
    `embedder_factory` lets Ray actors build their own model instead of receiving a pickled one.
    Returns counts; the snapshot manifest records model id, settings, counts and partitions.
    """
    start = time.perf_counter()
    runner = runner or LocalRunner()
    base = work_url or str(HomeLayout.of_snapshots(snapshots_dir).jobs)
    store = PartitionStore(embed_work_url(base, embedder.model_id, partition_size))
    parts = make_partitions(items, partition_size, item_key)
    factory = EmbedMapperFactory(
        None if embedder_factory is not None and runner.name != "local" else embedder,
        embedder_factory if runner.name != "local" else None,
        cache.path if cache is not None else None,
        batch_size,
        workers,
        limits,
    )
    report = runner.run(
        parts, factory, store, (lambda done, total: progress(done, total, done)) if progress is not None else None
    )
    id_parts: list[IntArray] = []
    vec_parts: list[FloatArray] = []
    failed: dict[int, str] = {}
    cached = embedded = 0
    for part in parts:
        out = store.read(part)
        id_parts.append(out.arrays["ids"])
        vec_parts.append(out.arrays["vectors"])
        embedded += int(out.meta.get("embedded", 0))
        cached += int(out.meta.get("cached", 0))
        failed.update({int(k): str(v) for k, v in dict(out.meta.get("failed", {})).items()})
    ids = np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.int64)
    vectors = np.concatenate(vec_parts) if vec_parts else np.zeros((0, embedder.dim), dtype=np.float32)
    order = np.argsort(ids, kind="stable")
    ids, vectors = ids[order], vectors[order]
    seconds = time.perf_counter() - start
    manifest = {
        "model_id": embedder.model_id,
        "settings": settings_manifest or {},
        "counts": {"total": len(items), "embedded": embedded, "cached": cached, "failed": len(failed)},
        "failed": dict(list({str(k): v for k, v in failed.items()}.items())[:100]),
        "seconds": round(seconds, 3),
        "runner": runner.name,
        "partitions": {"total": len(parts), "computed": len(report.computed), "reused": len(report.reused)},
    }
    snap = write_vectors(snapshots_dir, ids, vectors, manifest)
    store.clear()
    result = EmbedJobResult(snap, embedder.model_id, embedder.dim, len(items), embedded, cached, failed, seconds)
    result.partitions_computed = sorted(report.computed)
    result.partitions_reused = sorted(report.reused)
    return result
