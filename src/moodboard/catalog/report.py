"""The machine-readable ingest report: one JSON line per rejected row, plus a summary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from moodboard.catalog.rows import RowError


@dataclass
class IngestSummary:
    """Counts of one ingest run."""

    source: str
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    near_duplicates: int = 0
    elapsed_s: float = 0.0
    report_path: str = ""
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class ReportWriter:
    """Appends rejections to `<report>.jsonl` as they happen (a killed run keeps what it wrote)."""

    def __init__(self, path: Path) -> None:
        """Open the report file for writing."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: IO[str] = path.open("w", encoding="utf-8")

    def reject(self, err: RowError, summary: IngestSummary) -> None:
        """Record one rejected row."""
        self._fh.write(json.dumps(asdict(err), ensure_ascii=False) + "\n")
        summary.rejected += 1
        summary.reasons[err.field] = summary.reasons.get(err.field, 0) + 1

    def close(self, summary: IngestSummary) -> None:
        """Flush the report and write the summary beside it."""
        self._fh.close()
        self.path.with_suffix(".summary.json").write_text(json.dumps(summary.as_dict(), indent=2))
