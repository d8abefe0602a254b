"""Online experiments: deterministic user bucketing and the per-arm report (issue 14).

Bucketing: a user's bucket is the first 8 bytes of SHA-256(`"{salt}:{user_id}"`) as a big-endian integer,
modulo 10,000; arms own consecutive bucket ranges in proportion to their traffic shares, in the order the
settings list them. The same (salt, user) always lands in the same arm, on every replica and language
(the test vectors in tests/rank/test_experiments.py pin the function down), and a new salt reshuffles
users independently of any earlier experiment.

Report: served events carry their arm (and session) in `Event.context`; `arm_report` turns them into
per-arm CTR (clicks / views) and saves per session, each with a 95 % interval by the delta method with
users as the unit (events of one user are correlated, so counting events as independent would make the
intervals too narrow; Deng et al., "Applying the Delta Method in Metric Analytics", 2018), the difference
to the first (control) arm, and a sample-ratio-mismatch check: a chi-square test of users per arm against
the configured shares (p < 0.001 means the split itself is broken and the comparison cannot be trusted).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from moodboard.core.records import Event, EventType

if TYPE_CHECKING:
    from moodboard.core.settings import ExperimentSettings

N_BUCKETS = 10_000
SRM_P_THRESHOLD = 0.001
Z95 = 1.959963984540054


def bucket(user_id: int | str, salt: str, n_buckets: int = N_BUCKETS) -> int:
    """The user's bucket in 0..n_buckets-1: SHA-256 of "salt:user_id", first 8 bytes, modulo n_buckets."""
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n_buckets


def arm_bounds(shares: Sequence[float], n_buckets: int = N_BUCKETS) -> list[int]:
    """Exclusive upper bucket of each arm (the last is always n_buckets)."""
    cum = np.cumsum(np.asarray(shares, dtype=np.float64))
    bounds = [round(c / cum[-1] * n_buckets) for c in cum.tolist()]
    bounds[-1] = n_buckets
    return bounds


def assign_arm(user_id: int | str, settings: ExperimentSettings) -> str:
    """The arm of a user in the configured experiment (the first arm when no experiment is running)."""
    if not settings.name:
        return settings.arms[0].name
    b = bucket(user_id, settings.salt or settings.name)
    for arm, upper in zip(settings.arms, arm_bounds([a.share for a in settings.arms]), strict=True):
        if b < upper:
            return arm.name
    return settings.arms[-1].name  # unreachable: the last bound is N_BUCKETS


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio metric (sum of numerators / sum of denominators over users) with its 95 % interval."""

    value: float
    low: float
    high: float
    se: float


def ratio_estimate(num: ArrayLike, den: ArrayLike) -> RatioEstimate:
    """Delta-method estimate of sum(num) / sum(den) with users as the independent unit."""
    x = np.asarray(num, dtype=np.float64)
    y = np.asarray(den, dtype=np.float64)
    n = len(x)
    if n == 0 or y.sum() <= 0:
        return RatioEstimate(float("nan"), float("nan"), float("nan"), float("nan"))
    mx, my = x.mean(), y.mean()
    r = mx / my
    if n < 2:
        return RatioEstimate(float(r), float("nan"), float("nan"), float("nan"))
    cov = np.cov(x, y, ddof=1)
    var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * my * my)
    se = float(np.sqrt(max(var, 0.0)))
    return RatioEstimate(float(r), float(r - Z95 * se), float(r + Z95 * se), se)


@dataclass
class ArmStats:
    """One arm's totals and metrics; `*_diff` compare it with the first (control) arm."""

    arm: str
    users: int
    sessions: int
    views: int
    clicks: int
    saves: int
    ctr: RatioEstimate
    saves_per_session: RatioEstimate
    ctr_diff: RatioEstimate | None = None
    saves_per_session_diff: RatioEstimate | None = None


@dataclass
class ExperimentReport:
    """Per-arm statistics and the sample-ratio-mismatch check."""

    arms: list[ArmStats]
    srm_p_value: float
    srm_detected: bool
    expected_shares: dict[str, float] = field(default_factory=dict)

    def arm(self, name: str) -> ArmStats:
        """The statistics of one arm by name."""
        for a in self.arms:
            if a.arm == name:
                return a
        raise KeyError(name)


def _diff(a: RatioEstimate, b: RatioEstimate) -> RatioEstimate:
    """Difference a - b of two independent estimates."""
    se = float(np.hypot(a.se, b.se))
    d = a.value - b.value
    return RatioEstimate(d, d - Z95 * se, d + Z95 * se, se)


def srm_p_value(observed: Sequence[int], shares: Sequence[float]) -> float:
    """Chi-square goodness-of-fit p-value of users per arm against the configured shares."""
    from scipy.stats import chisquare

    obs = np.asarray(observed, dtype=np.float64)
    if obs.sum() == 0 or len(obs) < 2:
        return 1.0
    expected = np.asarray(shares, dtype=np.float64) / float(np.sum(shares)) * obs.sum()
    return float(chisquare(obs, expected).pvalue)


def arm_report(events: Iterable[Event], settings: ExperimentSettings) -> ExperimentReport:
    """Per-arm CTR and saves per session from served events whose context names their `arm`.

    Views are impressions, clicks and saves are engagements; a session is `context["session"]` (events
    without one form a single session per user). Events without an arm are ignored.
    """
    per_user: dict[str, dict[int, list[float]]] = {a.name: {} for a in settings.arms}
    sessions: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for e in events:
        arm = str(e.context.get("arm", "")) if e.context else ""
        if arm not in per_user:
            continue
        row = per_user[arm].setdefault(e.user_id, [0.0, 0.0, 0.0])  # views, clicks, saves
        if e.type == EventType.VIEW:
            row[0] += 1
        elif e.type == EventType.CLICK:
            row[1] += 1
        elif e.type == EventType.SAVE:
            row[2] += 1
        sessions[arm][e.user_id].add(str(e.context.get("session", "")))
    stats: list[ArmStats] = []
    for a in settings.arms:
        users = sorted(per_user[a.name])
        m = np.array([per_user[a.name][u] for u in users]).reshape(-1, 3)
        n_sess = np.array([len(sessions[a.name][u]) for u in users], dtype=np.float64)
        views, clicks, saves = (int(v) for v in m.sum(axis=0).tolist())
        ctr, sps = ratio_estimate(m[:, 1], m[:, 0]), ratio_estimate(m[:, 2], n_sess)
        stats.append(ArmStats(a.name, len(users), int(n_sess.sum()), views, clicks, saves, ctr, sps))
    control = stats[0]
    for s in stats[1:]:
        s.ctr_diff = _diff(s.ctr, control.ctr)
        s.saves_per_session_diff = _diff(s.saves_per_session, control.saves_per_session)
    shares = [a.share for a in settings.arms]
    p = srm_p_value([s.users for s in stats], shares)
    return ExperimentReport(stats, p, p < SRM_P_THRESHOLD, {a.name: a.share for a in settings.arms})
