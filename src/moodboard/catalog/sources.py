"""Catalog sources: a folder of images with optional sidecars, a CSV file, or a JSONL file.

Each source yields `RawRow`s: the row number, the raw fields (or why the row could not be parsed),
and the folder that relative image paths are confined to.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodboard.core.errors import InvalidInputError, NotFoundError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class RawRow:
    """One unvalidated row; `error` is set when it could not even be parsed."""

    row: int
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A catalog source: its kind, path, and the folder images must stay inside."""

    kind: str  # "folder" | "csv" | "jsonl"
    path: Path
    base_dir: Path

    def rows(self) -> Iterator[RawRow]:
        """Yield the rows of this source in a stable order."""
        if self.kind == "jsonl":
            return _jsonl_rows(self.path)
        if self.kind == "csv":
            return _csv_rows(self.path)
        return _folder_rows(self.path)

    def count(self) -> int:
        """Number of rows, for progress bars (cheap: counts lines or files)."""
        if self.kind == "folder":
            return sum(1 for _ in _image_files(self.path))
        if self.kind == "csv":
            # records, not lines: a quoted field may hold newlines (a description over several lines)
            with self.path.open(newline="", encoding="utf-8", errors="replace") as fh:
                return max(0, sum(1 for row in csv.reader(fh) if row) - 1)
        with self.path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())


def open_source(path: Path, images_root: Path | None = None) -> Source:
    """Detect a source's kind from its path; image paths are confined to `images_root` (default: its folder).

    Raises:
        NotFoundError: the path does not exist.
        InvalidInputError: the file type is not a supported catalog format.
    """
    if not path.exists():
        raise NotFoundError(f"catalog source {path} does not exist", "pass a folder, a .csv or a .jsonl file")
    if images_root is not None and not images_root.is_dir():
        raise NotFoundError(f"images root {images_root} is not a folder", "pass the folder holding the images")
    if path.is_dir():
        return Source("folder", path, path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return Source("jsonl", path, images_root or path.parent)
    if suffix == ".csv":
        return Source("csv", path, images_root or path.parent)
    raise InvalidInputError(
        f"catalog source {path.name} has unsupported type {suffix or '(none)'}",
        "use a folder of images, a .csv file or a .jsonl file",
    )


def _jsonl_rows(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if len(line) > MAX_LINE_BYTES:
                yield RawRow(n, error=f"line is {len(line):,} bytes, over {MAX_LINE_BYTES:,}")
                continue
            try:
                obj = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                yield RawRow(n, error="line is not valid UTF-8")
                continue
            except json.JSONDecodeError as exc:
                yield RawRow(n, error=f"line is not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield RawRow(n, error="line is JSON but not an object")
                continue
            yield RawRow(n, obj)


def _csv_rows(path: Path) -> Iterator[RawRow]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        header = [h.strip() for h in header]
        for values in reader:
            n = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                yield RawRow(n, error=f"row has {len(values)} fields but the header has {len(header)}")
                continue
            yield RawRow(n, dict(zip(header, values, strict=True)))


def _image_files(folder: Path) -> Iterator[Path]:
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTENSIONS and (p.is_file() or p.is_symlink()):
            yield p


def _folder_rows(folder: Path) -> Iterator[RawRow]:
    for n, img in enumerate(_image_files(folder), start=1):
        rel = img.relative_to(folder).as_posix()
        fields: dict[str, Any] = {"image": rel, "title": img.stem.replace("_", " ").replace("-", " ")}
        sidecar = img.with_suffix(".json")
        if sidecar.is_file():
            try:
                extra = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield RawRow(n, {"image": rel}, error=f"sidecar {sidecar.name} is not valid JSON: {exc}")
                continue
            if not isinstance(extra, dict):
                yield RawRow(n, {"image": rel}, error=f"sidecar {sidecar.name} is not a JSON object")
                continue
            fields.update(extra)
        yield RawRow(n, fields)
