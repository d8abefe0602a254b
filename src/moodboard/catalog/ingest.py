"""Catalog ingestion: validate rows, decode images in parallel, and commit pins in batches.

Guarantees:
- idempotent: an external id (or, without one, the image's content hash) decides identity, and rows
  already stored are skipped;
- resumable: each batch commits in one transaction and thumbnails are written atomically, so after
  `kill -9` a re-run ends exactly where a clean run would;
- nothing good is lost: every bad row is rejected on its own, with its reason, in the report.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from moodboard.catalog.images import (
    ImageLimits,
    color_distance,
    process_image,
    process_image_file,
    sweep_stale_temp,
)
from moodboard.catalog.report import IngestSummary, ReportWriter
from moodboard.catalog.rows import Invalid, RowError, ValidRow, validate_row
from moodboard.catalog.sources import RawRow, Source
from moodboard.catalog.store import CatalogStore, NewImage, NewPin
from moodboard.catalog.urlguard import fetch_url
from moodboard.core.errors import MoodboardError
from moodboard.core.settings import IngestSettings

Progress = Callable[[int, IngestSummary], None]
"""Called after each batch with the number of rows it handled and the running summary."""


@dataclass(frozen=True, slots=True)
class _Job:
    row: ValidRow
    limits: ImageLimits
    thumbs_dir: Path
    ingest: IngestSettings


def _decode(job: _Job) -> NewImage | RowError:
    """Fetch (for URLs) and decode one row's image; runs in a worker process."""
    ref = job.row.image
    try:
        if ref.kind == "url":
            fetched = fetch_url(
                ref.value,
                max_bytes=job.limits.max_file_bytes,
                timeout_s=job.ingest.url_timeout_s,
                max_redirects=job.ingest.url_max_redirects,
                allow_private=job.ingest.allow_private_urls,
            )
            return process_image(fetched.data, job.limits, job.thumbs_dir)
        return process_image_file(Path(ref.value), job.limits, job.thumbs_dir)
    except MoodboardError as exc:
        return RowError(job.row.row, "image", exc.message, exc.hint, job.row.external_id)


class NearDuplicateIndex:
    """Finds images whose perceptual hash is within a Hamming distance of an earlier one, in similar colours.

    pHash works on greyscale, so colour variants of one product (a red and a blue shirt) would look alike;
    the colour signature keeps those apart.
    """

    def __init__(self, known: list[tuple[str, str, str]], max_distance: int, max_color_distance: float = 6.0) -> None:
        """Start from (content_hash, phash, color_sig) triples already stored."""
        self.max_distance = max_distance
        self.max_color_distance = max_color_distance
        self.hashes = [h for h, _, _ in known]
        self.colors = [c for _, _, c in known]
        self.known = set(self.hashes)
        self.bits = np.array([int(p, 16) for _, p, _ in known], dtype=np.uint64)

    def match(self, content_hash: str, phash: str, color_sig: str = "") -> str | None:
        """The closest earlier near-duplicate's content hash, or None (then this image is remembered)."""
        if content_hash in self.known:  # the very same image: pins share it, nothing to mark
            return None
        value = np.uint64(int(phash, 16))
        if len(self.bits):
            dist = np.bitwise_count(self.bits ^ value)
            # candidates in distance order; ties go to the earliest image, so resumed runs agree
            for i in np.flatnonzero(dist <= self.max_distance)[
                np.argsort(dist[dist <= self.max_distance], kind="stable")
            ]:
                if color_distance(self.colors[int(i)], color_sig) <= self.max_color_distance:
                    return self.hashes[int(i)]
        self.hashes.append(content_hash)
        self.colors.append(color_sig)
        self.known.add(content_hash)
        self.bits = np.append(self.bits, value)
        return None


def _batches(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    while batch := list(islice(rows, size)):
        yield batch


class Ingestor:
    """Runs one ingest of a source into a store."""

    def __init__(
        self,
        store: CatalogStore,
        settings: IngestSettings,
        thumbs_dir: Path,
        report_path: Path,
        mapping: dict[str, str] | None = None,
        executor: Executor | None = None,
    ) -> None:
        """Configure an ingest run; `executor` defaults to a process pool sized by `settings.workers`."""
        self.store = store
        self.settings = settings
        self.thumbs_dir = thumbs_dir
        self.report_path = report_path
        self.mapping = mapping or {}
        self.executor = executor
        self.limits = ImageLimits(settings.max_file_bytes, settings.max_pixels, settings.thumbnail_px)

    def run(self, source: Source, progress: Progress | None = None) -> IngestSummary:
        """Ingest every row of `source`; returns the summary (the report is on disk)."""
        started = time.perf_counter()
        summary = IngestSummary(source=str(source.path), report_path=str(self.report_path))
        report = ReportWriter(self.report_path)
        self.thumbs_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale_temp(self.thumbs_dir)  # half-written thumbnails of a killed run
        near = NearDuplicateIndex(self.store.image_phashes(), self.settings.near_duplicate_distance)
        seen: dict[str, int] = {}
        own_pool = self.executor is None
        pool = self.executor or self._make_pool()
        try:
            for raw_batch in _batches(source.rows(), self.settings.batch_size):
                self._run_batch(raw_batch, source, pool, near, seen, report, summary)
                summary.elapsed_s = time.perf_counter() - started
                if progress:
                    progress(len(raw_batch), summary)
        finally:
            if own_pool:
                pool.shutdown(cancel_futures=True)
            summary.elapsed_s = time.perf_counter() - started
            report.close(summary)
        return summary

    def _make_pool(self) -> Executor:
        import os

        workers = self.settings.workers or os.cpu_count() or 1
        return ThreadPoolExecutor(1) if workers <= 1 else ProcessPoolExecutor(workers)

    def _run_batch(
        self,
        raw_batch: list[RawRow],
        source: Source,
        pool: Executor,
        near: NearDuplicateIndex,
        seen: dict[str, int],
        report: ReportWriter,
        summary: IngestSummary,
    ) -> None:
        summary.total += len(raw_batch)
        valid: list[ValidRow] = []
        for raw in raw_batch:
            if raw.error:
                report.reject(RowError(raw.row, "row", raw.error, "fix or remove this row"), summary)
                continue
            try:
                row = validate_row(raw.row, raw.fields, self.mapping, source.base_dir, self.settings.default_currency)
            except Invalid as exc:
                ext = str(raw.fields.get(self.mapping.get("id", "id")) or "") or None
                report.reject(RowError(raw.row, exc.field, exc.reason, exc.fix, ext), summary)
                continue
            if row.external_id is not None and not self._first_sighting(
                row.row, row.external_id, seen, report, summary
            ):
                continue
            valid.append(row)
        known = self.store.existing_external_ids([r.external_id for r in valid if r.external_id])
        todo = [r for r in valid if r.external_id not in known or r.external_id is None]
        summary.skipped += len(valid) - len(todo)
        jobs = [_Job(r, self.limits, self.thumbs_dir, self.settings) for r in todo]
        decoded = list(pool.map(_decode, jobs, chunksize=8)) if jobs else []
        pins: list[NewPin] = []
        hashed_ids: list[str] = []
        for row, result in zip(todo, decoded, strict=True):
            if isinstance(result, RowError):
                report.reject(result, summary)
                continue
            ext = row.external_id or f"sha256:{result.content_hash}"
            if row.external_id is None:
                if not self._first_sighting(row.row, ext, seen, report, summary):
                    continue
                hashed_ids.append(ext)
            dup = near.match(result.content_hash, result.phash, result.color_sig)
            if dup is not None:
                result = dataclasses.replace(result, duplicate_of_hash=dup)
                summary.near_duplicates += 1
            pins.append(_new_pin(row, ext, result))
        if hashed_ids:
            already = self.store.existing_external_ids(hashed_ids)
            summary.skipped += len(already)
            pins = [p for p in pins if p.external_id not in already]
        summary.accepted += self.store.add_pins(pins)

    @staticmethod
    def _first_sighting(row: int, ext: str, seen: dict[str, int], report: ReportWriter, summary: IngestSummary) -> bool:
        first = seen.setdefault(ext, row)
        if first != row:
            report.reject(
                RowError(
                    row,
                    "id",
                    f"duplicate id {ext!r} (first seen at row {first})",
                    "give each row a unique id",
                    ext,
                ),
                summary,
            )
            return False
        return True


def _new_pin(row: ValidRow, ext: str, image: NewImage) -> NewPin:
    return NewPin(
        external_id=ext,
        title=row.title,
        description=row.description,
        category=row.category,
        color=row.color,
        attributes=row.attributes,
        source_uri=row.image.value,
        image=image,
        price=row.price,
        currency=row.currency,
        availability=row.availability,
        merchant=row.merchant,
        url=row.url,
    )
