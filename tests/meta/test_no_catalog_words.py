"""Nothing in `src/moodboard` may know one catalog's words (any-catalog issue, acceptance 4).

The test reads the two customer catalogs' own category vocabularies at run time (Myntra's article
types, sub- and master categories; Flipkart's first two category levels) plus the scene names the old
hand-written goal planner used, and greps every source, template and static file for them.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tests.conftest import find_data_dir

SRC = Path(__file__).resolve().parents[2] / "src" / "moodboard"
OLD_SCENES = ("beach wedding", "diwali", "kurta", "churidar", "festival", "reading corner", "office outfit")
ENGLISH = {"ties", "caps", "storage"}
"""Catalog values that are also plain English words used in their English sense in the code
("ties" of equal scores, "caps" on sizes, "storage" of files); every other catalog value must not appear."""


def _catalog_words(data: Path) -> set[str]:
    words: set[str] = set()
    for line in (data / "myntra" / "catalog.jsonl").read_text().splitlines():
        row = json.loads(line)
        words |= {str(row[k]).lower() for k in ("articleType", "subCategory", "masterCategory") if row.get(k)}
    with (data / "flipkart" / "products.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            path = json.loads(row["product_category_tree"])[0].split(">>")
            words |= {p.strip().lower() for p in path[:2]}
        fields = next(csv.reader((data / "flipkart" / "products.csv").open()))
    keys = set(json.loads((data / "myntra" / "catalog.jsonl").open().readline())) | set(fields)
    words |= {k.lower() for k in keys if any(c.isupper() for c in k[1:]) or "_" in k}  # their own field names
    return {w for w in words if len(w) >= 4} - ENGLISH


def _sources() -> list[Path]:
    return [p for p in SRC.rglob("*") if p.suffix in {".py", ".js", ".html", ".css", ".toml", ".json"}]


@pytest.mark.realdata
def test_no_customer_category_words_in_the_product_code() -> None:
    data = find_data_dir()
    if data is None or not (data / "flipkart" / "products.csv").is_file():
        pytest.skip(reason="needs ../shared/data (myntra and flipkart) to know which words to look for")
    words = _catalog_words(data) | set(OLD_SCENES)
    found = []
    for path in _sources():
        text = path.read_text(errors="ignore").lower()
        for word in words:
            if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text):
                found.append(f"{path.relative_to(SRC)}: {word}")
    assert not found, "catalog-specific words in src/moodboard:\n" + "\n".join(sorted(found))
