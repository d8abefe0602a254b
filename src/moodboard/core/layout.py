"""Where everything lives under a moodboard home: one place that names every file and folder of it.

<home>/catalog.db            the embedded catalog store (SQLite)
<home>/thumbnails/           generated thumbnails
<home>/snapshots/<kind>/     versioned snapshots (vectors, index, graph, aligner, models)
<home>/cache/features.sqlite frozen-tower features by content hash
<home>/cache/vectors.sqlite  model vectors by content hash (the embed and index jobs)
<home>/cache/onnx/           exported ONNX towers, when the user cache is not writable
<home>/jobs/                 partitioned, resumable job output (unless jobs.work_url says otherwise)
<home>/reports/              ingest reports
<home>/demo/                 files `moodboard demo` derives from the demo catalog
<home>/secret_key            the dev-mode signing key
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HomeLayout:
    """The paths of one moodboard home."""

    home: Path

    @classmethod
    def of_snapshots(cls, snapshots_dir: Path) -> HomeLayout:
        """The layout of the home whose snapshots folder is `snapshots_dir`."""
        return cls(snapshots_dir.parent)

    @property
    def catalog_db(self) -> Path:
        """The embedded catalog store."""
        return self.home / "catalog.db"

    @property
    def thumbnails(self) -> Path:
        """Generated thumbnails."""
        return self.home / "thumbnails"

    @property
    def snapshots(self) -> Path:
        """Versioned snapshots."""
        return self.home / "snapshots"

    @property
    def cache(self) -> Path:
        """Caches that can be deleted at any time (recomputed on the next run)."""
        return self.home / "cache"

    @property
    def feature_cache(self) -> Path:
        """Frozen-tower features by content hash."""
        return self.cache / "features.sqlite"

    @property
    def vector_cache(self) -> Path:
        """Model vectors by content hash."""
        return self.cache / "vectors.sqlite"

    @property
    def onnx_fallback(self) -> Path:
        """Exported ONNX towers when the user cache is not writable."""
        return self.cache / "onnx"

    @property
    def jobs(self) -> Path:
        """Partitioned job output."""
        return self.home / "jobs"

    @property
    def reports(self) -> Path:
        """Ingest reports."""
        return self.home / "reports"

    @property
    def demo(self) -> Path:
        """What `moodboard demo` derives from its catalog."""
        return self.home / "demo"

    @property
    def secret_key(self) -> Path:
        """The dev-mode signing key."""
        return self.home / "secret_key"
