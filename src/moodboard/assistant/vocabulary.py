"""What the built-in parser knows, learned from the catalog: category phrases, colours, synonyms, words.

Nothing here is specific to one catalog. Phrases come from the values of `Pin.category` (every level of
a category path), `Pin.color` and the low-cardinality attribute fields that most items carry, split as
the catalog profile (`moodboard.index.profile`) says. Synonyms are learned from titles: a title word that
nearly always co-occurs with one category value (precision >= 0.8 over >= 5 pins) points at it. A small
lexicon of generic English grammar words (stopwords, colour aliases, audience words) is kept only where
it resolves to something the catalog has. The vocabulary is learned by `moodboard index` and stored in
the index snapshot (`vocabulary.json`), so serving never loads the catalog to learn it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from moodboard.core.records import Pin
from moodboard.index.profile import PATH_SEP, CatalogProfile


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

MAX_ATTRIBUTE_VALUES = 400
"""Attributes with more distinct values than this are free text, not facets (ids, years, names)."""
PHRASE_FIELD_SHARE = 0.05
"""An attribute's values become phrases (hard filters) only when at least this share of items has it."""
PHRASE_FIELD_VALUES = 150
"""... and it has at most this many distinct values."""


def _lexicon() -> dict[str, Any]:
    """The packaged English lexicon (`lexicon_en.toml`): language data the catalog cannot teach."""
    return tomllib.loads(resources.files("moodboard.assistant").joinpath("lexicon_en.toml").read_text("utf-8"))


_LEXICON = _lexicon()
COLOUR_ALIASES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["colour_aliases"].items()}
"""English colour words mapped to colour names a catalog may use; kept only if the catalog has them."""
STOPWORDS: frozenset[str] = _words(_LEXICON["stopwords"])
AUDIENCE_WORDS: dict[str, str] = dict(_LEXICON["audience_words"])
AUDIENCE_VALUES: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEXICON["audience_values"].items()}
"""Attribute values (lower case) that serve each audience; unisex serves both adults."""


def normalise(text: str) -> str:
    """Lower-case, NFKC-normalise and strip accents so 'Café' and 'cafe' match."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Split normalised text into word tokens."""
    return WORD_RE.findall(normalise(text).replace("-", ""))


def singular(word: str) -> str:
    """Cheap English singular: 'boxes' -> 'box', 'lamps' -> 'lamp', 'glass' stays 'glass'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=50_000)
def word_set(text: str) -> frozenset[str]:
    """The singular words of a text, cached (result titles repeat across turns and conversations, and
    normalising them was a tenth of a follow-up turn's CPU)."""
    return frozenset(singular(w) for w in words(text))


def phrase_key(text: str) -> str:
    """Canonical key of a phrase: singular words joined by spaces."""
    return " ".join(singular(w) for w in words(text))


@dataclass(frozen=True, slots=True)
class Match:
    """A catalog value a phrase points at: `field` is 'category', 'color' or an attribute name."""

    field: str
    value: str
    count: int


@dataclass
class Vocabulary:
    """Phrases, colours and words a catalog knows about, built by `Vocabulary.from_pins`."""

    phrases: dict[str, list[Match]] = field(default_factory=dict)
    colours: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known_words: set[str] = field(default_factory=set)
    audience_field: str | None = None
    audience_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    field_cardinality: dict[str, int] = field(default_factory=dict)
    taxonomy_fields: frozenset[str] = frozenset({"category"})
    under: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    value_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    max_phrase_words: int = 1

    @classmethod
    def from_pins(cls, pins: Iterable[Pin], profile: CatalogProfile | None = None) -> Vocabulary:
        """Learn the vocabulary of a catalog from its pins (one pass; memory ~ distinct values).

        With a `profile`, values are split as it says (lists, category paths) and only attribute fields
        that most items carry become phrases; without one, every value is taken whole.
        """
        values: dict[str, Counter[str]] = defaultdict(Counter)
        labels: dict[tuple[str, str], str] = {}
        title_words: Counter[str] = Counter()
        word_by_category: dict[str, Counter[str]] = defaultdict(Counter)
        pairs: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        fields = _phrase_fields(profile)

        def split(name: str, raw: Any) -> tuple[str, ...]:
            if profile is not None:
                return profile.values_of(name, raw)
            return (str(raw),) if raw is not None and str(raw).strip() else ()

        for pin in pins:
            cats = split("category", pin.category)
            for c in cats:
                values["category"][c] += 1
                labels[("category", c)] = profile.label("category", c) if profile else c
            leaf = cats[-1] if cats else None
            for c in split("color", pin.color):
                values["color"][c] += 1
                labels[("color", c)] = profile.label("color", c) if profile else c
            for key, val in pin.attributes.items():
                if fields is not None and key not in fields:
                    continue
                if not isinstance(val, str) or not val or val.isdigit():
                    continue
                for v in split(key, val):
                    values[key][v] += 1
                    labels[(key, v)] = profile.label(key, v) if profile else v
                    if leaf:
                        pairs[key][(leaf, v)] += 1
            tokens = {singular(w) for w in words(f"{pin.title} {pin.description}")}
            title_words.update(tokens)
            if leaf:
                for t in tokens:
                    word_by_category[t][leaf] += 1
        vocab = cls._build(values, labels, title_words, word_by_category)
        vocab.taxonomy_fields = frozenset({"category", *cls._taxonomy_fields(pairs)})
        for fld in vocab.taxonomy_fields - {"category"}:
            grouped: dict[str, list[str]] = defaultdict(list)
            for (cat, val), _n in pairs[fld].most_common():
                if cat not in {c for vals in grouped.values() for c in vals}:
                    grouped[val].append(cat)
            for val, members in grouped.items():
                vocab.under[(fld, val)] = tuple(sorted(members))
        return vocab

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the index snapshot)."""
        return {
            "phrases": {k: [[m.field, m.value, m.count] for m in ms] for k, ms in self.phrases.items()},
            "colours": {k: list(v) for k, v in self.colours.items()},
            "known_words": sorted(self.known_words),
            "audience_field": self.audience_field,
            "audience_values": {k: list(v) for k, v in self.audience_values.items()},
            "field_cardinality": self.field_cardinality,
            "taxonomy_fields": sorted(self.taxonomy_fields),
            "under": [[f, v, list(c)] for (f, v), c in self.under.items()],
            "value_counts": [[f, v, n] for (f, v), n in self.value_counts.items()],
            "labels": [[f, v, lbl] for (f, v), lbl in self.labels.items()],
            "max_phrase_words": self.max_phrase_words,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Load a vocabulary written by `to_dict`."""
        return cls(
            phrases={k: [Match(str(f), str(v), int(n)) for f, v, n in ms] for k, ms in data["phrases"].items()},
            colours={k: tuple(v) for k, v in data["colours"].items()},
            known_words=set(data["known_words"]),
            audience_field=data.get("audience_field"),
            audience_values={k: tuple(v) for k, v in data.get("audience_values", {}).items()},
            field_cardinality={k: int(v) for k, v in data.get("field_cardinality", {}).items()},
            taxonomy_fields=frozenset(data.get("taxonomy_fields", ["category"])),
            under={(f, v): tuple(c) for f, v, c in data.get("under", [])},
            value_counts={(f, v): int(n) for f, v, n in data.get("value_counts", [])},
            labels={(f, v): str(lbl) for f, v, lbl in data.get("labels", [])},
            max_phrase_words=int(data.get("max_phrase_words", 1)),
        )

    def label(self, fld: str, value: str) -> str:
        """How a catalog value reads to a person (a category path's last level)."""
        return self.labels.get((fld, value)) or value.rsplit(PATH_SEP, 1)[-1]

    @staticmethod
    def _taxonomy_fields(pairs: Mapping[str, Counter[tuple[str, str]]]) -> set[str]:
        """Fields that the category determines (>= 95 % of pins): the catalog's own category tree."""
        out: set[str] = set()
        for fld, counter in pairs.items():
            best: dict[str, int] = defaultdict(int)
            for (cat, _val), n in counter.items():
                best[cat] = max(best[cat], n)
            total = sum(counter.values())
            distinct = len({v for _c, v in counter})
            if total and distinct > 1 and sum(best.values()) / total >= 0.95:
                out.add(fld)
        return out

    @classmethod
    def _build(
        cls,
        values: Mapping[str, Counter[str]],
        labels: Mapping[tuple[str, str], str],
        title_words: Counter[str],
        word_by_category: Mapping[str, Counter[str]],
    ) -> Vocabulary:
        vocab = cls()
        vocab.labels = dict(labels)
        facet_fields = {f: c for f, c in values.items() if 0 < len(c) <= MAX_ATTRIBUTE_VALUES}
        vocab.field_cardinality = {f: len(c) for f, c in facet_fields.items()}
        for fld, counter in facet_fields.items():
            for val, n in counter.items():
                vocab.value_counts[(fld, val)] = n
                if fld == "color":
                    continue
                # a path's value is named by its label and by its own level ("Lamp, pendant" and "pendant")
                names = {labels.get((fld, val), val), val.rsplit(PATH_SEP, 1)[-1]}
                for key in {phrase_key(name) for name in names}:
                    if key and not key.isdigit() and key != "na":
                        vocab.phrases.setdefault(key, []).append(Match(fld, val, n))
                        # "T-lights" also as "tlight" and "t light"; "Tea Sets" also as "teaset"
                        vocab.phrases.setdefault(key.replace(" ", ""), []).append(Match(fld, val, n))
        cls._learn_colours(vocab, values.get("color", Counter()), labels)
        cls._learn_synonyms(vocab, word_by_category)
        cls._learn_audience(vocab, facet_fields)
        vocab.known_words = {w for w, n in title_words.items() if n >= 1}
        for key in list(vocab.phrases) + list(vocab.colours):
            vocab.known_words.update(key.split())
        vocab.max_phrase_words = max((len(k.split()) for k in [*vocab.phrases, *vocab.colours]), default=1)
        return vocab

    @staticmethod
    def _learn_colours(vocab: Vocabulary, colours: Counter[str], labels: Mapping[tuple[str, str], str]) -> None:
        by_key = {phrase_key(labels.get(("color", c), c)): c for c in colours}
        by_key = {k: c for k, c in by_key.items() if k not in {"", "na"}}
        for key, val in by_key.items():
            # a colour word names its shades too: "blue" is also "dark blue" and "navy blue"
            shades = tuple(v for k, v in by_key.items() if k != key and set(key.split()) <= set(k.split()))
            vocab.colours[key] = (val, *shades)
        for alias, targets in COLOUR_ALIASES.items():
            hits = tuple(by_key[phrase_key(t)] for t in targets if phrase_key(t) in by_key)
            if hits and phrase_key(alias) not in vocab.colours:
                vocab.colours[phrase_key(alias)] = hits

    @staticmethod
    def _learn_synonyms(vocab: Vocabulary, word_by_category: Mapping[str, Counter[str]]) -> None:
        for word, per_cat in word_by_category.items():
            total = sum(per_cat.values())
            cat, n = per_cat.most_common(1)[0]
            if (
                n >= 5
                and n / total >= 0.8
                and len(word) > 2
                and word not in vocab.phrases
                and word not in STOPWORDS
                and word not in vocab.colours
                and word not in AUDIENCE_WORDS
            ):
                vocab.phrases[word] = [Match("category", cat, n)]

    @staticmethod
    def _learn_audience(vocab: Vocabulary, facet_fields: Mapping[str, Counter[str]]) -> None:
        best: tuple[int, str] | None = None
        for fld, counter in facet_fields.items():
            lowered = {v.lower() for v in counter}
            hits = sum(1 for v in lowered if v in {"men", "women", "boys", "girls", "unisex", "kids"})
            if hits >= 2 and (best is None or hits > best[0]):
                best = (hits, fld)
        if best is None:
            return
        fld = best[1]
        vocab.audience_field = fld
        present = {v.lower(): v for v in facet_fields[fld]}
        for aud, wanted in AUDIENCE_VALUES.items():
            vocab.audience_values[aud] = tuple(present[w] for w in wanted if w in present)
        # audience words must not double as category phrases ("Men" is a gender, not a category)
        for key in list(vocab.phrases):
            vocab.phrases[key] = [m for m in vocab.phrases[key] if m.field != fld]
            if not vocab.phrases[key]:
                del vocab.phrases[key]

    def lookup(self, phrase: str) -> list[Match]:
        """Catalog values a phrase names, most specific field first (the field with most values)."""
        key = phrase_key(phrase)
        # a compound written apart ("book ends", "tea cups") names the catalog's one-word value too
        found = self.phrases.get(key) or (self.phrases.get(key.replace(" ", ""), []) if " " in key else [])
        matches = list(dict.fromkeys(found))
        return sorted(matches, key=lambda m: (-self.field_cardinality.get(m.field, 0), -m.count))

    def best(self, phrase: str) -> list[Match]:
        """The matches of the most specific field only (several values if the phrase is ambiguous)."""
        found = self.lookup(phrase)
        if not found:
            return []
        # prefer the category field itself when it matches: it is the one every backend can filter on
        cats = [m for m in found if m.field == "category"]
        if cats:
            return cats
        top = found[0].field
        return [m for m in found if m.field == top]

    def categories_of(self, match: Match) -> tuple[str, ...]:
        """The `Pin.category` values a match covers (an attribute value -> the categories under it)."""
        if match.field == "category":
            return (match.value,)
        return self.under.get((match.field, match.value), ())

    def colour(self, phrase: str) -> tuple[str, ...]:
        """Catalog colour values a colour phrase names ('navy' -> ('Navy Blue',)), or ()."""
        return self.colours.get(phrase_key(phrase), ())

    def is_known(self, word: str) -> bool:
        """Whether a word means something here (catalog text, lexicon or grammar)."""
        w = singular(word)
        return (
            w in self.known_words
            or word in self.known_words
            or word in STOPWORDS
            or word in AUDIENCE_WORDS
            or word.isdigit()
        )

    def summary(self) -> dict[str, Any]:
        """Sizes of what was learned (for logs and debugging)."""
        return {
            "phrases": len(self.phrases),
            "colours": len(self.colours),
            "words": len(self.known_words),
            "audience_field": self.audience_field,
        }


def _phrase_fields(profile: CatalogProfile | None) -> set[str] | None:
    """Attribute fields whose values may become phrases (None = every field, when there is no profile)."""
    if profile is None:
        return None
    floor = PHRASE_FIELD_SHARE * max(profile.n_pins, 1)
    return {
        f.name
        for f in profile.fields.values()
        if f.kind in ("categorical", "multi", "hierarchy")
        and f.support >= floor
        and len(f.values) <= PHRASE_FIELD_VALUES
        and f.name not in ("category", "color", "merchant")
    }
