"""Team-draft interleaving of two rankers (Radlinski, Kurup and Joachims, CIKM 2008), issue 14.

Per request the two rankings are merged like picking sides for a game: in each round a coin decides
which team picks first, then each team adds its highest-ranked item not yet in the list. A click credits
the team that contributed the clicked item; the ranker with more credited clicks wins the request. Over
many requests the share of wins is a far more sensitive comparison than an A/B split of users, because
every user sees both rankers at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TEAM_A = "a"
TEAM_B = "b"


def team_draft(a: Sequence[int], b: Sequence[int], k: int, rng: np.random.Generator) -> tuple[list[int], list[str]]:
    """Interleave rankings `a` and `b` into at most k items; returns (items, team of each item)."""
    items: list[int] = []
    teams: list[str] = []
    used: set[int] = set()
    ia = ib = 0
    n_a = n_b = 0

    def next_of(ranking: Sequence[int], i: int) -> int:
        while i < len(ranking) and ranking[i] in used:
            i += 1
        return i

    while len(items) < k:
        ia, ib = next_of(a, ia), next_of(b, ib)
        if ia >= len(a) and ib >= len(b):
            break
        a_turn = n_a < n_b or (n_a == n_b and bool(rng.integers(2)))
        if (a_turn and ia < len(a)) or ib >= len(b):
            items.append(a[ia])
            teams.append(TEAM_A)
            n_a += 1
        else:
            items.append(b[ib])
            teams.append(TEAM_B)
            n_b += 1
        used.add(items[-1])
    return items, teams


def credit(teams: Sequence[str], clicked_positions: Iterable[int]) -> str | None:
    """The winning team of one request ("a", "b"), or None for a tie or no click."""
    clicks = [teams[p] for p in clicked_positions if 0 <= p < len(teams)]
    ca, cb = clicks.count(TEAM_A), clicks.count(TEAM_B)
    if ca == cb:
        return None
    return TEAM_A if ca > cb else TEAM_B


@dataclass(frozen=True)
class InterleavingResult:
    """Wins per ranker over requests, the preference delta in [-1, 1] and a two-sided sign-test p-value."""

    wins_a: int
    wins_b: int
    ties: int
    delta: float
    p_value: float


def summarise(outcomes: Iterable[str | None]) -> InterleavingResult:
    """Aggregate per-request winners: delta = (wins_a - wins_b) / requests; sign test on decided requests."""
    from scipy.stats import binomtest

    out = list(outcomes)
    wa, wb = out.count(TEAM_A), out.count(TEAM_B)
    ties = len(out) - wa - wb
    delta = (wa - wb) / len(out) if out else 0.0
    p = float(binomtest(wa, wa + wb, 0.5).pvalue) if wa + wb else 1.0
    return InterleavingResult(wa, wb, ties, delta, p)
