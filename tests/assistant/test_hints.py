"""An operator's hints file: shopper words the catalog never uses, mapped to catalog phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodboard.assistant.hints import Hints, apply_hints, load_hints
from moodboard.assistant.parser import Parser
from moodboard.assistant.vocabulary import Vocabulary
from moodboard.core.errors import ConfigError
from moodboard.core.settings import load_settings
from moodboard.runtime import build_runtime


def test_a_synonym_names_the_catalog_phrase(vocab: Vocabulary, tmp_path: Path) -> None:
    file = tmp_path / "hints.toml"
    file.write_text('[synonyms]\nsneakers = ["casual shoes"]\n"flip flop" = "sandals"\nparasol = ["umbrella"]\n')
    hints = load_hints(file)
    taught = Vocabulary.from_dict(vocab.to_dict())
    assert not Parser(taught).parse("red sneakers").scopes  # the catalog never says "sneakers"
    skipped = apply_hints(taught, hints)
    assert skipped == ["synonym 'parasol': the catalog has no 'umbrella'"]  # reported, never guessed
    (s,) = Parser(taught).parse("red sneakers").scopes
    assert s.categories == ("casual shoes",)
    assert Parser(taught).parse("flip flops please").scopes[0].categories == ("sandals",)
    assert load_hints("") == Hints()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[synonyms\n", "not valid TOML"),
        ("[words]\na = ['b']\n", "unknown sections"),
        ("[synonyms]\na = []\n", "must name one or more"),
    ],
)
def test_a_broken_hints_file_is_refused_at_start_with_the_fix(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "hints.toml"
    file.write_text(text)
    settings = load_settings(home=tmp_path / "home", assistant={"hints_file": str(file)})
    with pytest.raises(ConfigError, match=problem) as info:
        build_runtime(settings)
    assert "synonyms" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="cannot read"):
        load_hints(tmp_path / "missing.toml")
