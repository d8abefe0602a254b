"""Lexical BM25 index (SQLite FTS5): ranking, negatives, AND matching, injection safety, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodboard.core.errors import SnapshotError
from moodboard.index.lexical import LexicalDoc, LexicalIndex, tokens

DOCS = [
    LexicalDoc(1, "Red cotton dress", "A summer dress", "dresses red"),
    LexicalDoc(2, "Blue denim jacket", "Classic jacket", "jackets blue"),
    LexicalDoc(3, "Red leather boots", "Winter boots", "shoes red"),
    LexicalDoc(4, "Floral dress", "Light and red-ish", "dresses pink"),
]


@pytest.fixture
def lex(tmp_path: Path) -> LexicalIndex:
    index = LexicalIndex.create(tmp_path / "lex.sqlite")
    index.add(DOCS)
    return index


def test_title_match_ranks_first(lex: LexicalIndex) -> None:
    ids, scores = lex.search("red dress", 10)
    assert ids[0] == 1  # both words, in the title
    assert set(ids.tolist()) == {1, 3, 4}
    assert (np.diff(scores) <= 0).all()


def test_stemming_and_case(lex: LexicalIndex) -> None:
    ids, _ = lex.search("DRESSES", 10)
    assert set(ids.tolist()) == {1, 4}


def test_negative_terms_exclude(lex: LexicalIndex) -> None:
    ids, _ = lex.search("red", 10, exclude="boots")
    assert 3 not in ids.tolist() and 1 in ids.tolist()


def test_require_all_and_matches_all(lex: LexicalIndex) -> None:
    ids, _ = lex.search("red boots", 10, require_all=True)
    assert ids.tolist() == [3]
    assert lex.matches_all("red dress", np.array([1, 2, 3, 4])).tolist() == [1, 4]


@pytest.mark.parametrize("text", ['"', "NEAR(a b)", "red OR", "*", "title:red", "AND", "-"])
def test_fts_syntax_in_user_text_is_harmless(lex: LexicalIndex, text: str) -> None:
    lex.search(text, 5)  # must not raise sqlite3.OperationalError


def test_empty_text_gives_nothing(lex: LexicalIndex) -> None:
    assert lex.search("   ", 5)[0].shape == (0,)
    assert tokens("Hello, hello WORLD") == ["hello", "world"]


def test_update_remove_and_reopen_read_only(lex: LexicalIndex, tmp_path: Path) -> None:
    lex.add([LexicalDoc(2, "Green denim jacket")])
    lex.remove([3])
    lex.close()
    ro = LexicalIndex.open(tmp_path / "lex.sqlite")
    assert len(ro) == 3
    assert ro.search("green", 5)[0].tolist() == [2]
    assert ro.search("boots", 5)[0].tolist() == []


def test_missing_file_is_snapshot_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError):
        LexicalIndex.open(tmp_path / "nope.sqlite")
