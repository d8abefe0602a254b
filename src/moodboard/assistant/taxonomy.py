"""A category tree with real frequencies, loaded at run time from the data dir (never shipped).

The source is Pinterest's "Shop The Look" labels (`<data_dir>/stl-taxonomy/{fashion,home}-cat.json`,
product id -> "Home & Garden|Lighting|Lamps"). Where it is absent, `Taxonomy.from_vocabulary` builds
the same shape from the catalog's own category fields, so the planner always has a tree.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.errors import InvalidInputError

DOMAINS = ("fashion", "home")


@dataclass(frozen=True, slots=True)
class Leaf:
    """One category path with how many products carry it."""

    domain: str
    path: tuple[str, ...]
    count: int

    @property
    def name(self) -> str:
        """The most specific label of the path ("Lamps")."""
        return self.path[-1]


@dataclass
class Taxonomy:
    """Category paths per domain, most frequent first."""

    leaves: list[Leaf] = field(default_factory=list)
    source: str = "none"

    @classmethod
    def load(cls, data_dir: Path | None) -> Taxonomy:
        """Read the STL category files under `data_dir`; an empty taxonomy when they are missing.

        Raises:
            InvalidInputError: when a file exists but is not the expected JSON mapping.
        """
        if data_dir is None:
            return cls()
        root = data_dir / "stl-taxonomy"
        leaves: list[Leaf] = []
        for domain in DOMAINS:
            path = root / f"{domain}-cat.json"
            if not path.is_file():
                continue
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInputError(f"cannot read taxonomy {path}: {exc}", "check the data dir") from exc
            if not isinstance(raw, dict):
                raise InvalidInputError(f"taxonomy {path} is not a JSON object", "check the data dir")
            counts = Counter(str(v) for v in raw.values())
            leaves += [Leaf(domain, tuple(p.split("|")), n) for p, n in counts.items()]
        leaves.sort(key=lambda lf: -lf.count)
        return cls(leaves, "stl-taxonomy" if leaves else "none")

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary) -> Taxonomy:
        """Catalog-only fallback: one leaf per category value, under the catalog's taxonomy fields."""
        leaves = [
            Leaf("catalog", (fld, val), n)
            for (fld, val), n in vocab.value_counts.items()
            if fld in vocab.taxonomy_fields
        ]
        leaves.sort(key=lambda lf: -lf.count)
        return cls(leaves, "catalog")

    def domain(self, name: str) -> list[Leaf]:
        """Leaves of one domain, most frequent first."""
        return [lf for lf in self.leaves if lf.domain == name]

    def find(self, label: str, domain: str | None = None) -> Leaf | None:
        """The most frequent leaf whose last label is `label` (case-insensitive)."""
        want = label.lower()
        for lf in self.leaves:
            if lf.name.lower() == want and (domain is None or lf.domain == domain):
                return lf
        return None

    def __bool__(self) -> bool:
        """True when any leaf is known."""
        return bool(self.leaves)
