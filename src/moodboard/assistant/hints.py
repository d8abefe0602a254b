"""An operator's own words for their catalog: `assistant.hints_file`, a small TOML file.

The vocabulary learns what the catalog says (categories, colours, title words that point at a category),
but never a word the catalog does not use: shoppers say "couch" where the catalog says "Sofa". A hints
file names such words, each with the catalog phrases it means:

    [synonyms]
    couch = ["sofa"]
    telly = ["television", "tv stand"]

A synonym whose targets the catalog does not know is reported and skipped, never guessed, so a hints file
written for another catalog does no harm.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from moodboard.assistant.vocabulary import Match, Vocabulary, phrase_key
from moodboard.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hints:
    """Words an operator taught the assistant: shopper word -> catalog phrases."""

    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_hints(path: str | Path) -> Hints:
    """Read a hints file (see the module docstring); an empty path means no hints.

    Raises:
        ConfigError: the file is missing, is not TOML, or has the wrong shape (the message says where).
    """
    if not str(path):
        return Hints()
    file = Path(path).expanduser()
    fix = 'write TOML like: [synonyms]\ncouch = ["sofa"]'
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the assistant hints file {file}: {exc}", "fix assistant.hints_file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the assistant hints file {file} is not valid TOML: {exc}", fix) from exc
    unknown = set(data) - {"synonyms"}
    if unknown:
        raise ConfigError(f"the assistant hints file {file} has unknown sections {sorted(unknown)}", fix)
    synonyms: dict[str, tuple[str, ...]] = {}
    for word, targets in data.get("synonyms", {}).items():
        values = [targets] if isinstance(targets, str) else targets
        if not isinstance(values, list) or not values or not all(isinstance(t, str) and t.strip() for t in values):
            raise ConfigError(f"synonym {word!r} in {file} must name one or more catalog phrases", fix)
        synonyms[word] = tuple(values)
    return Hints(synonyms)


def apply_hints(vocab: Vocabulary, hints: Hints) -> list[str]:
    """Teach `vocab` the hints in place; returns what was skipped and why (for the log)."""
    skipped: list[str] = []
    for word, targets in hints.synonyms.items():
        key = phrase_key(word)
        found: list[Match] = [m for t in targets for m in vocab.lookup(t)]
        if not key or not found:
            skipped.append(f"synonym {word!r}: the catalog has no {' or '.join(repr(t) for t in targets)}")
            continue
        vocab.phrases[key] = list(dict.fromkeys(found))
        vocab.known_words.update(key.split())
        vocab.max_phrase_words = max(vocab.max_phrase_words, len(key.split()))
    for line in skipped:
        log.warning("assistant hints: %s; skipped", line)
    return skipped
