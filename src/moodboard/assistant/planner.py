"""The goal planner: a broad goal ("redo my kitchen", "an outfit for a beach wedding") -> a cascade of
sections, each with its own query, resolved against the catalog's own categories.

Scenes say which kinds of things a goal spans, by taxonomy label (from the real category tree when it
is loaded) and by plain phrases. Each section is resolved through the catalog vocabulary to the
`Pin.category` values it covers; a section the catalog cannot serve keeps only its text, so retrieval
answers it honestly (usually with nothing). Goals with no known scene fall back to the most frequent
leaves of the taxonomy's domain, or of the catalog's own category tree when no taxonomy is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moodboard.assistant.taxonomy import Taxonomy
from moodboard.assistant.vocabulary import Vocabulary, phrase_key, words
from moodboard.core.query import Filters, Section, Term, TermKind

MIN_SECTIONS = 3
MAX_SECTIONS = 6


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """One section of a scene: its name, taxonomy labels, catalog phrases and soft style words."""

    name: str
    labels: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Scene:
    """A kind of goal: the words that name it and the sections it spans."""

    name: str
    domain: str
    cues: tuple[str, ...]
    sections: tuple[SectionSpec, ...]


_TOPS = SectionSpec("tops", ("Shirts & Tops",), ("shirts", "tops", "tshirts"))
_BOTTOMS = SectionSpec("bottoms", ("Pants", "Shorts", "Skirts"), ("trousers", "jeans", "shorts", "skirts"))
_SHOES = SectionSpec("footwear", ("Shoes",), ("casual shoes", "sandals", "flats"))
_ACCESSORIES = SectionSpec(
    "accessories", ("Sunglasses", "Handbags, Wallets & Cases"), ("sunglasses", "watches", "belts")
)

SCENES: tuple[Scene, ...] = (
    Scene("beach wedding", "fashion", ("beach wedding",), (
        SectionSpec("tops", ("Shirts & Tops",), ("shirts", "tops", "dresses"), "linen white summer"),
        SectionSpec("bottoms", ("Pants", "Shorts"), ("trousers", "shorts", "skirts"), "linen summer"),
        SectionSpec("footwear", ("Shoes",), ("sandals", "flip flops", "casual shoes")),
        SectionSpec("accessories", ("Sunglasses",), ("sunglasses", "watches")),
    )),
    Scene("wedding", "fashion", ("wedding", "reception", "ceremony"), (
        SectionSpec("tops", ("Shirts & Tops",), ("shirts", "kurtas", "tops"), "formal"),
        SectionSpec("bottoms", ("Pants",), ("trousers", "skirts"), "formal"),
        SectionSpec("footwear", ("Shoes",), ("formal shoes", "heels")),
        SectionSpec("accessories", (), ("ties", "cufflinks", "watches", "clutches")),
    )),
    Scene("office", "fashion", ("office", "work", "interview", "meeting", "business"), (
        SectionSpec("tops", ("Shirts & Tops",), ("shirts", "tops"), "formal"),
        SectionSpec("bottoms", ("Pants",), ("trousers",), "formal"),
        SectionSpec("footwear", ("Shoes",), ("formal shoes", "flats")),
        SectionSpec("accessories", ("Handbags, Wallets & Cases",), ("watches", "belts", "handbags", "ties")),
    )),
    Scene("workout", "fashion", ("gym", "workout", "running", "run", "training", "yoga", "sport", "sports"), (
        SectionSpec("tops", ("Shirts & Tops",), ("tshirts",), "sports"),
        SectionSpec("bottoms", ("Pants", "Shorts"), ("track pants", "shorts", "tracksuits")),
        SectionSpec("footwear", ("Shoes",), ("sports shoes",)),
        SectionSpec("accessories", (), ("socks", "caps", "backpacks", "duffel bag")),
    )),
    Scene("winter", "fashion", ("winter", "ski", "snow", "cold", "chilly"), (
        SectionSpec("layers", ("Coats & Jackets",), ("jackets", "sweaters", "sweatshirts")),
        SectionSpec("bottoms", ("Pants",), ("jeans", "trousers")),
        SectionSpec("footwear", ("Shoes",), ("casual shoes",)),
        SectionSpec("accessories", (), ("mufflers", "gloves", "scarves", "caps")),
    )),
    Scene("party", "fashion", ("party", "date", "night out", "club", "cocktail"), (
        SectionSpec("tops", ("Shirts & Tops",), ("tops", "shirts", "dresses")),
        SectionSpec("bottoms", ("Pants", "Skirts"), ("jeans", "skirts", "trousers")),
        SectionSpec("footwear", ("Shoes",), ("heels", "casual shoes")),
        SectionSpec("accessories", ("Earrings", "Necklaces"), ("clutches", "watches", "sunglasses")),
    )),
    Scene("festival", "fashion", ("festival", "festive", "diwali", "eid", "puja", "ethnic"), (
        SectionSpec("tops", (), ("kurtas", "kurtis", "tunics")),
        SectionSpec("bottoms", (), ("churidar", "leggings", "trousers")),
        SectionSpec("footwear", ("Shoes",), ("sandals", "flats")),
        SectionSpec("accessories", (), ("stoles", "scarves", "clutches", "watches")),
    )),
    Scene("trip", "fashion", ("trip", "travel", "vacation", "holiday", "beach", "getaway", "summer"), (
        _TOPS, SectionSpec("bottoms", ("Shorts", "Pants"), ("shorts", "capris", "jeans")),
        SectionSpec("footwear", ("Shoes",), ("flip flops", "sandals")),
        SectionSpec("accessories", ("Sunglasses",), ("sunglasses", "backpacks", "caps")),
    )),
    Scene("kitchen", "home", ("kitchen", "cooking"), (
        SectionSpec("faucets", ("Faucets",), ("faucet", "tap")),
        SectionSpec("bar stools", ("Table & Bar Stools",), ("bar stool", "stool")),
        SectionSpec("lighting", ("Ceiling Light Fixtures", "Lamps"), ("pendant", "ceiling light")),
        SectionSpec("rugs", ("Rugs",), ("rug", "runner")),
        SectionSpec("decor", ("Decor",), ("decor",)),
    )),
    Scene("reading corner", "home", ("reading corner", "reading nook", "reading", "nook", "corner", "library"), (
        SectionSpec("seating", ("Chairs", "Sofas"), ("armchair", "chair")),
        SectionSpec("lighting", ("Lamps",), ("floor lamp", "lamp")),
        SectionSpec("cushions", ("Throw Pillows",), ("cushion", "throw pillow")),
        SectionSpec("rugs", ("Rugs",), ("rug",)),
        SectionSpec("curtains", ("Curtains & Drapes",), ("curtain",)),
    )),
    Scene("living room", "home", ("living room", "lounge", "living"), (
        SectionSpec("sofas", ("Sofas",), ("sofa", "couch")),
        SectionSpec("cushions", ("Throw Pillows",), ("cushion",)),
        SectionSpec("rugs", ("Rugs",), ("rug",)),
        SectionSpec("lighting", ("Lamps", "Ceiling Light Fixtures"), ("lamp",)),
        SectionSpec("mirrors", ("Mirrors",), ("mirror",)),
    )),
    Scene("bedroom", "home", ("bedroom", "bed room"), (
        SectionSpec("lighting", ("Lamps",), ("bedside lamp", "lamp")),
        SectionSpec("cushions", ("Throw Pillows",), ("cushion",)),
        SectionSpec("rugs", ("Rugs",), ("rug",)),
        SectionSpec("curtains", ("Curtains & Drapes",), ("curtain",)),
        SectionSpec("mirrors", ("Mirrors",), ("mirror",)),
    )),
    Scene("bathroom", "home", ("bathroom", "bath", "shower"), (
        SectionSpec("faucets", ("Faucets",), ("faucet", "tap")),
        SectionSpec("mirrors", ("Mirrors",), ("mirror",)),
        SectionSpec("lighting", ("Ceiling Light Fixtures",), ("light",)),
        SectionSpec("rugs", ("Rugs",), ("bath mat", "rug")),
    )),
)  # fmt: skip

GOAL_FASHION = re.compile(
    r"\b(?:outfits?|wardrobe|attire|what (?:to|should i|can i) wear|dress(?:ed)? (?:up )?for|clothes for|"
    r"(?:a|the|my|an|complete|whole) look|kit for|gear for|pack(?:ing)? for|ensemble)\b"
)
GOAL_HOME = re.compile(
    r"\b(?:redo|re-do|remodel\w*|renovat\w*|decorat\w*|furnish\w*|makeover|revamp\w*|refresh\w*|"
    r"do up|set up|setting up|design\w*|cos[yi]\w* \w+ (?:corner|nook|room)|(?:corner|nook)\b)"
)
HOME_WORDS = re.compile(r"\b(?:home|house|apartment|flat|room|place|space|corner|nook|interior)\b")


class Planner:
    """Plans goal cascades over one catalog (vocabulary) and an optional real taxonomy."""

    def __init__(self, vocab: Vocabulary, taxonomy: Taxonomy | None = None) -> None:
        """Bind the catalog vocabulary and the taxonomy (falls back to the catalog's own tree)."""
        self.vocab = vocab
        self.taxonomy = taxonomy if taxonomy else Taxonomy.from_vocabulary(vocab)

    def detect(self, text: str) -> tuple[str, tuple[Section, ...], frozenset[str]] | None:
        """Return (goal, sections, words the goal used) when `text` states a broad goal, else None."""
        fashion = GOAL_FASHION.search(text)
        home = GOAL_HOME.search(text)
        if not fashion and not home:
            return None
        domain = "fashion" if fashion else "home"
        scene = self._scene(text, domain)
        if scene is None and domain == "home" and not HOME_WORDS.search(text):
            return None
        sections = self.plan(scene, domain)
        goal = f"{scene.name} {'outfit' if domain == 'fashion' else 'project'}" if scene else f"{domain} goal"
        used = {*words(fashion.group(0) if fashion else ""), *words(home.group(0) if home else "")}
        for other in SCENES:  # every occasion word named is part of the goal ("winter trip")
            for cue in other.cues:
                if re.search(rf"\b{re.escape(cue)}\b", text):
                    used.update(words(cue))
        used |= {"outfit", "outfits", "look", "redo", "my", "cosy", "cozy", "corner", "nook", "room"}
        return goal, sections, frozenset(used)

    def _scene(self, text: str, domain: str) -> Scene | None:
        best: tuple[int, Scene] | None = None
        for scene in SCENES:
            if scene.domain != domain:
                continue
            for cue in scene.cues:
                if re.search(rf"\b{re.escape(cue)}\b", text):
                    score = len(cue)
                    if best is None or score > best[0]:
                        best = (score, scene)
        return best[1] if best else None

    def plan(self, scene: Scene | None, domain: str) -> tuple[Section, ...]:
        """Sections for a scene (or the domain's most frequent categories when there is no scene)."""
        specs = list(scene.sections) if scene else self._generic(domain)
        sections: list[Section] = []
        seen: set[tuple[str, ...]] = set()
        for spec in specs:
            section = self._resolve(spec)
            key = section.filters.categories
            if key and key in seen:
                continue
            seen.add(key)
            sections.append(section)
        return tuple(sections[:MAX_SECTIONS])

    def _generic(self, domain: str) -> list[SectionSpec]:
        if domain == "fashion":
            return [_TOPS, _BOTTOMS, _SHOES, _ACCESSORIES]
        leaves = self.taxonomy.domain("home") or self.taxonomy.leaves
        return [SectionSpec(lf.name.lower(), (lf.name,), (lf.name,)) for lf in leaves[:5]]

    def _resolve(self, spec: SectionSpec) -> Section:
        phrases: list[str] = []
        for label in spec.labels:
            if self.taxonomy.find(label) is not None or self.taxonomy.source == "catalog":
                phrases.append(label)
                phrases += [p.strip() for p in re.split(r"[&,]", label) if p.strip()]
        phrases += list(spec.phrases)
        cats: list[str] = []
        for phrase in phrases:
            for match in self.vocab.best(phrase):
                for cat in self.vocab.categories_of(match):
                    if cat not in cats:
                        cats.append(cat)
        hint = " ".join(w for w in words(spec.hint) if self.vocab.is_known(w))
        positives: tuple[Term, ...] = ()
        if not cats:
            positives = (Term(kind=TermKind.TEXT, value=f"{spec.name} {hint}".strip()),)
        elif hint:
            positives = (Term(kind=TermKind.TEXT, value=hint, weight=0.5),)
        return Section(name=spec.name, positives=positives, filters=Filters(categories=tuple(cats)))


def section_key(name: str) -> str:
    """Canonical key of a section name, for matching "the lighting" to section "lighting"."""
    return phrase_key(name)
