"""The search index snapshot: vector index + lexical index + manifest (model id, calibration), swapped atomically.

Layout of `<snapshots>/index/<version>/`: `vectors/` (the `VectorIndex` files), `lexical.sqlite`
(FTS5), `profile.json` (the catalog profile), `vocabulary.json` (the parser's
vocabulary) and `manifest.json`. `IndexHolder` serves the live version and swaps to a newer one when the
`CURRENT` pointer moves, without ever exposing a half-loaded index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moodboard.core.errors import ModelMismatchError, NotFoundError, SnapshotError
from moodboard.core.live_snapshot import LiveSnapshot, SnapshotStatus
from moodboard.core.settings import IndexSettings
from moodboard.core.snapshot import current_snapshot, verify_snapshot, write_snapshot
from moodboard.index.lexical import LEXICAL_FILE, LexicalDoc, LexicalIndex
from moodboard.index.profile import CatalogProfile
from moodboard.index.vector_index import VectorIndex, load_vector_index, save_vector_index

KIND = "index"
PROFILE_FILE = "profile.json"
VOCABULARY_FILE = "vocabulary.json"


@dataclass
class SearchIndex:
    """A loaded index snapshot: vectors, lexical index and the manifest they were built with."""

    vectors: VectorIndex
    lexical: LexicalIndex | None
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    _profile: CatalogProfile | None = field(default=None, repr=False, compare=False)

    @property
    def profile(self) -> CatalogProfile:
        """The catalog profile learned when this index was built (empty for an index built without one)."""
        if self._profile is None:
            data = _read_json(self.path / PROFILE_FILE) if self.path else None
            self._profile = CatalogProfile.from_dict(data) if data else CatalogProfile()
        return self._profile

    def vocabulary_data(self) -> dict[str, Any] | None:
        """The parser vocabulary learned with this index, as stored (None when there is none)."""
        return _read_json(self.path / VOCABULARY_FILE) if self.path else None

    @property
    def model_id(self) -> str:
        """Embedding model the vectors came from."""
        return self.vectors.model_id

    @property
    def packshot_fraction(self) -> float | None:
        """Share of the catalog's images that are packshots on white, as the index job measured it (or None)."""
        value = self.manifest.get("photo_domain", {}).get("packshot_fraction")
        return None if value is None else float(value)

    @property
    def calibration(self) -> dict[str, Any]:
        """Relevance cutoffs per query modality (see `moodboard.rank.calibration`)."""
        cal: dict[str, Any] = self.manifest.get("calibration", {})
        return cal

    def check_model(self, model_id: str) -> None:
        """Refuse queries embedded by another model than the index's.

        Raises:
            ModelMismatchError: when `model_id` differs from the index's model.
        """
        if model_id != self.model_id:
            raise ModelMismatchError(
                f"the index was built with model {self.model_id!r} but the query uses {model_id!r}",
                "run `moodboard index` with the current embedder, or switch the embedder back",
            )


def current_profile(snapshots_dir: Path) -> CatalogProfile | None:
    """The catalog profile of the current index snapshot, or None before the first `moodboard index`."""
    path = current_snapshot(snapshots_dir, "index")
    data = _read_json(path / PROFILE_FILE) if path else None
    return CatalogProfile.from_dict(data) if data else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}", "rebuild the index with `moodboard index`") from exc
    return data


def write_index_snapshot(
    root: Path,
    vectors: VectorIndex,
    docs: Iterable[LexicalDoc],
    manifest: dict[str, Any],
    *,
    files: dict[str, str] | None = None,
    batch_size: int = 2000,
) -> Path:
    """Write `vectors`, a lexical index of `docs` and extra text `files` as a new `index` snapshot and make
    it current."""

    def build(tmp: Path) -> dict[str, Any]:
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        meta = save_vector_index(vectors, tmp / "vectors")
        lexical = LexicalIndex.create(tmp / LEXICAL_FILE)
        n_docs = 0
        batch: list[LexicalDoc] = []
        try:
            for doc in docs:
                batch.append(doc)
                if len(batch) >= batch_size:
                    lexical.add(batch)
                    n_docs += len(batch)
                    batch = []
            lexical.add(batch)
            n_docs += len(batch)
        finally:
            lexical.close()
        return {"vector_index": meta, "lexical_docs": n_docs, "model_id": vectors.model_id, "dim": vectors.dim}

    return write_snapshot(root, KIND, build, manifest)


def load_index_snapshot(path: Path, settings: IndexSettings) -> SearchIndex:
    """Load the index snapshot in `path`, after checking its files against the manifest's checksums.

    Raises:
        CorruptSnapshotError: a file is missing, truncated or changed since the job wrote it.
    """
    manifest = verify_snapshot(path)
    vectors = load_vector_index(path / "vectors", settings)
    lex_path = path / LEXICAL_FILE
    lexical = LexicalIndex.open(lex_path) if lex_path.is_file() else None
    return SearchIndex(vectors, lexical, manifest, path)


def load_current_index(root: Path, settings: IndexSettings) -> SearchIndex:
    """Load the live index snapshot under `root`.

    Raises:
        NotFoundError: when no index was built yet (a missing snapshot, not a broken one).
    """
    path = current_snapshot(root, KIND)
    if path is None:
        raise NotFoundError("no search index has been built yet", "run `moodboard index` first")
    return load_index_snapshot(path, settings)


class IndexHolder:
    """Serves the live index; `get()` swaps to a newer snapshot atomically when `CURRENT` moves.

    A new snapshot that fails its checksums (or otherwise does not load) is refused with an error in
    the log; the last good index keeps serving (a `LiveSnapshot` underneath).
    """

    def __init__(self, root: Path, settings: IndexSettings, check_every_s: float = 2.0) -> None:
        """Watch `<root>/index/CURRENT`, checking at most every `check_every_s` seconds."""
        self.root = root
        self.settings = settings
        self._live: LiveSnapshot[SearchIndex] = LiveSnapshot(
            root,
            KIND,
            lambda path: load_index_snapshot(path, settings),
            check_every_s=check_every_s,
            missing_hint="run `moodboard index` first",
        )

    @property
    def check_every_s(self) -> float:
        """Seconds between checks of the `CURRENT` pointer."""
        return self._live.check_every_s

    def get(self) -> SearchIndex:
        """The live index (loaded on first use, reloaded when a newer snapshot is current).

        Raises:
            NotFoundError: no index was built yet.
            SnapshotError: the current index does not load and no earlier one does.
        """
        return self._live.get()

    def status(self) -> SnapshotStatus:
        """The index version served, the current one, and why it was refused (if it was)."""
        return self._live.status()

    def set(self, index: SearchIndex) -> None:
        """Serve `index` directly (tests, or an index built in this process)."""
        self._live.set(index, index.path)
