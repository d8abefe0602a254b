"""The goal planner: a broad goal ("help me plan a contemporary kitchen", "a gift for a new baby") -> a
cascade of 3-6 sections chosen from the catalog itself.

No scene lists: the goal is retrieved over the whole catalog with the same search service as every
other query (hybrid dense + lexical, no relevance cutoff), and the pool is aggregated by category,
rank-discounted. A category path is cut at the shallowest level where at least three categories each
hold enough of the pool (the top level of a deep tree is skipped when the next one also qualifies:
departments are too broad to be sections). Each of the best categories becomes a section: its filter is
that category, its query the goal's words, so every section is non-empty and on the goal's topic.

Goal detection is English grammar, not domain words (`GOAL_CUES`: "help me plan", "ideas for", "set up",
"a gift for" ...), plus one data-driven signal the assistant uses for plain text (`spread`): a query of
several words whose results scatter over many categories is a goal too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

from moodboard.assistant.vocabulary import STOPWORDS, phrase_key, words
from moodboard.core.query import Filters, Section, Term, TermKind
from moodboard.index.profile import PATH_SEP, CatalogProfile
from moodboard.rank.search import SearchRequest, SearchService

MIN_SECTIONS = 3
MAX_SECTIONS = 6
POOL = 60
"""Pool of the goal's results that the sections are chosen from."""
MIN_SHARE = 2
"""Fewest pool pins a category needs to become a section."""
RANK_DISCOUNT = 10
"""A pin at pool rank r adds 1 / (r + RANK_DISCOUNT) to its category."""
SPREAD_TOP = 0.5
"""A plain query is a goal when its largest category holds less than this share of its pool ..."""
SPREAD_WORDS = 3
"""... and it has at least this many content words."""

GOAL_CUES = re.compile(
    r"\b(?:help me (?:plan|choose|pick|find|put together|set up|get|design|decorate)|plan(?:ning)?|"
    r"ideas?|inspir\w*|set(?:ting)? up|redo|re-do|make ?over|revamp\w*|refresh\w*|renovat\w*|"
    r"decorat\w*|furnish\w*|get ready for|prepar\w* for|everything (?:i need )?for|essentials for|"
    r"must[- ]haves?|gifts? (?:for|ideas?)|kit for|starter|what (?:do|should|can) i (?:need|get|buy|wear)|"
    r"outfits? for|upgrade my|build (?:a|my)|put together|a complete|the whole|what to (?:wear|pack|buy|get)|"
    r"what (?:should|do|can) i pack|essentials|\w+ kit\b|an? \w+ outfit)\b"
)
"""English phrasings of a broad goal; none names a kind of product."""


LEAD_IN = re.compile(
    r"^(?:(?:please|hi|hey|hello|ok|okay|so|now|well)\b[ ,]*)*"
    r"(?:(?:can|could|would) you |i (?:want|need|would like|'d like) to |"
    r"i(?:'m| am) (?:looking|trying) to |help me |let'?s |i want |i need )*"
    r"(?:plan(?:ning)? (?=an? |my |the ))?"
)
"""Polite lead-ins that are not part of the goal itself ("help me", "I want to")."""

GOAL_GRAMMAR = re.compile(
    r"\b(?:help|plan(?:s|ning|ned)?|ideas?|inspir\w*|set(?:ting)?|redo|re-do|make ?overs?|revamp\w*|"
    r"refresh\w*|renovat\w*|ready|prepar\w*|everything|need|needs|essentials?|must[- ]haves?|starter|"
    r"upgrade|build|put|together|complete|whole|choose|pick|find|get|buy|want|like|design|what|should|can|"
    r"could|would|do|i|me|my|to|up|on)\b"
)
"""The words of a goal's phrasing that say "this is a goal", not what it is about: they are dropped from
the text the goal is retrieved with ("plan a cosy bedroom makeover" is retrieved as "cosy bedroom": "plan"
and "makeover" matched product names lexically and pulled unrelated departments in; see BENCHMARKS.md,
"Goal cascades"). Words that are about the goal ("gift", "outfit", "kit", "decor") stay."""


def goal_phrase(text: str) -> str | None:
    """The goal a message states (the message without its lead-in), or None when it states none."""
    if not GOAL_CUES.search(text):
        return None
    goal = re.sub(r"\s+", " ", text).strip(" .!?")
    goal = LEAD_IN.sub("", goal.lower()).strip() or goal
    return goal[:200] or None


def goal_topic(goal: str) -> str:
    """What a goal is about: its content words without the goal's own phrasing ("plan a cosy bedroom
    makeover" -> "cosy bedroom"); the goal itself when nothing else is left."""
    topic = [w for w in content_words(GOAL_GRAMMAR.sub(" ", goal.lower()))]
    return " ".join(topic) if topic else goal


def content_words(text: str) -> list[str]:
    """Words of a message that are not grammar."""
    return [w for w in words(text) if w not in STOPWORDS and not w.isdigit()]


class Planner:
    """Plans goal cascades over the live catalog through the search service."""

    def __init__(self, search: SearchService, profile: CatalogProfile, label: Callable[[str, str], str]) -> None:
        """Bind the search service, the catalog profile (category paths) and the label lookup."""
        self.search = search
        self.profile = profile
        self.label = label

    def plan(self, goal: str, filters: Filters, *, require_spread: bool = False) -> tuple[Section, ...]:
        """Sections for `goal`; empty when the catalog has no grouping for it (or, with `require_spread`,
        when its results do not scatter over categories)."""
        text = goal_topic(goal.strip())
        if not text:
            return ()
        scoped = filters.model_copy(update={"categories": ()})
        req = SearchRequest(text=text[:1000], filters=scoped, k=POOL, cutoff=require_spread, facets=())
        hits = self.search.search(req).hits
        paths = [self.profile.values_of("category", h.pin.category) if h.pin else () for h in hits]
        if not any(paths):
            return ()
        if require_spread:
            leaves: dict[str, int] = defaultdict(int)
            for p in paths:
                if p:
                    leaves[p[-1]] += 1
            if len(content_words(text)) < SPREAD_WORDS or max(leaves.values()) >= SPREAD_TOP * len(hits):
                return ()
        chosen = self._categories(paths)
        if len(chosen) < 2 or (require_spread and len(chosen) < MIN_SECTIONS):
            return ()
        terms = (Term(kind=TermKind.TEXT, value=text),)
        names: list[str] = []
        sections = []
        for path in chosen:
            name = self.label("category", path)
            if phrase_key(name) in {phrase_key(n) for n in names}:
                continue
            names.append(name)
            sections.append(Section(name=name[:120], positives=terms, filters=Filters(categories=(path,))))
        return tuple(sections[:MAX_SECTIONS])

    @staticmethod
    def _categories(paths: list[tuple[str, ...]]) -> list[str]:
        """The best category paths at the level where the goal's pool spreads (see the module docstring)."""
        depth = max(len(p) for p in paths)
        by_level: list[list[str]] = []
        for level in range(depth):
            score: dict[str, float] = defaultdict(float)
            count: dict[str, int] = defaultdict(int)
            for rank, p in enumerate(paths):
                if len(p) > level:
                    score[p[level]] += 1.0 / (rank + RANK_DISCOUNT)
                    count[p[level]] += 1
            ranked = sorted((c for c in score if count[c] >= MIN_SHARE), key=lambda c: -score[c])
            by_level.append(ranked)
        qualifying = [lvl for lvl, cats in enumerate(by_level) if len(cats) >= MIN_SECTIONS]
        if not qualifying:
            return max(by_level, key=len)[:MAX_SECTIONS]
        level = qualifying[0]
        if level == 0 and depth >= 3 and 1 in qualifying:
            level = 1
        return by_level[level][:MAX_SECTIONS]


def section_key(name: str) -> str:
    """Canonical key of a section name, for matching "the lamps" to section "Lamps"."""
    return phrase_key(name)


__all__ = ["GOAL_CUES", "PATH_SEP", "Planner", "content_words", "goal_phrase", "goal_topic", "section_key"]
