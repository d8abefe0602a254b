"""Experiments: bucketing, the per-arm report, team-draft interleaving and off-policy estimates (issue 14)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.stats import chisquare

from moodboard.core.errors import ConfigError, InvalidInputError
from moodboard.core.records import Event, EventType
from moodboard.core.settings import ExperimentArm, ExperimentSettings, load_settings
from moodboard.rank.experiments import arm_bounds, arm_report, assign_arm, bucket, ratio_estimate
from moodboard.rank.interleaving import credit, summarise, team_draft
from moodboard.rank.off_policy import doubly_robust, ips, snips

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_bucket_test_vectors() -> None:
    # SHA-256("salt:user")[:8] big-endian mod 10,000; e.g. `echo -n exp:1 | sha256sum` -> ... -> 4457
    assert bucket(1, "exp") == 4457
    assert bucket(2, "exp") == 8951
    assert bucket(12345, "feed-v2") == 5472
    assert bucket("user-42", "salt") == 3567
    assert bucket(0, "") == 5603


def three_arms(name: str = "feed-v2") -> ExperimentSettings:
    """A 50 / 30 / 20 experiment."""
    return ExperimentSettings(
        name=name,
        arms=[
            ExperimentArm(name="control", share=0.5),
            ExperimentArm(name="seq", share=0.3),
            ExperimentArm(name="blend", share=0.2),
        ],
    )


def test_assignment_is_deterministic_and_balanced_on_100k_ids() -> None:
    cfg = three_arms()
    arms = [assign_arm(u, cfg) for u in range(100_000)]
    assert arms == [assign_arm(u, cfg) for u in range(100_000)]  # same answer every time
    counts = [arms.count(a) for a in ("control", "seq", "blend")]
    p = chisquare(counts, [50_000, 30_000, 20_000]).pvalue
    assert p > 0.001, counts  # shares honoured: no detectable imbalance
    other = [assign_arm(u, three_arms("other")) for u in range(20_000)]
    same = sum(x == y for x, y in zip(arms[:20_000], other, strict=True)) / 20_000
    assert 0.33 < same < 0.43  # a new salt reshuffles: agreement ~ 0.5^2 + 0.3^2 + 0.2^2 = 0.38
    assert assign_arm(7, ExperimentSettings()) == "control"  # no experiment: everyone gets the first arm
    assert arm_bounds([0.5, 0.3, 0.2]) == [5000, 8000, 10_000]


def test_experiment_settings_are_validated() -> None:
    with pytest.raises(ConfigError):
        load_settings(experiment={"name": "x", "arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}]})
    with pytest.raises(ConfigError):
        load_settings(experiment={"arms": [{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}]})


def served(arm: str, user: int, views: int, clicks: int, saves: int, session: str = "s1") -> list[Event]:
    """Events of one user in one session, each carrying its arm."""
    ctx = {"arm": arm, "session": session}
    return (
        [Event(user, 1, EventType.VIEW, T, ctx)] * views
        + [Event(user, 1, EventType.CLICK, T, ctx)] * clicks
        + [Event(user, 1, EventType.SAVE, T, ctx)] * saves
    )


def test_report_shows_each_arm_with_intervals_and_srm() -> None:
    cfg = ExperimentSettings(name="e")
    rng = np.random.default_rng(0)
    events: list[Event] = []
    for u in range(2000):
        arm = assign_arm(u, cfg)
        rate = 0.1 if arm == "control" else 0.2
        events += served(arm, u, 10, int(rng.binomial(10, rate)), 1, session=f"{u}-a")
        events += served(arm, u, 5, 0, 0, session=f"{u}-b")  # a second session: 5 views, nothing else
    events.append(Event(5, 1, EventType.CLICK, T, {"arm": "unknown"}))  # not an arm of this experiment
    report = arm_report(events, cfg)
    control, treat = report.arm("control"), report.arm("treatment")
    assert control.users + treat.users == 2000 and control.sessions == 2 * control.users
    assert control.ctr.low < 1 / 15 < control.ctr.high and treat.ctr.low < 2 / 15 < treat.ctr.high
    assert treat.ctr_diff is not None and treat.ctr_diff.low > 0  # the better arm is detected
    assert control.saves_per_session.value == pytest.approx(0.5)
    assert not report.srm_detected
    skewed = [e for e in events if not (e.context["arm"] == "treatment" and e.user_id % 3 == 0)]
    assert arm_report(skewed, cfg).srm_detected  # a third of one arm's users lost: the split is broken


def test_ratio_estimate_matches_the_plain_ratio() -> None:
    est = ratio_estimate([1, 2, 3, 4], [10, 10, 10, 10])
    assert est.value == pytest.approx(0.25) and est.low < 0.25 < est.high
    assert np.isnan(ratio_estimate([], []).value)


def test_team_draft_merges_without_duplicates() -> None:
    rng = np.random.default_rng(0)
    items, teams = team_draft([1, 2, 3, 4], [3, 5, 1, 6], 6, rng)
    assert len(items) == len(set(items)) == 6 and set(items) <= {1, 2, 3, 4, 5, 6}
    assert abs(teams.count("a") - teams.count("b")) <= 1
    assert team_draft([1], [], 5, rng) == ([1], ["a"])
    assert credit(["a", "b", "a"], [0, 2]) == "a" and credit(["a", "b"], [0, 1]) is None
    assert credit(["a"], []) is None


def test_interleaving_credits_the_better_ranker() -> None:
    rng = np.random.default_rng(1)
    outcomes = []
    for _ in range(400):
        relevant = set(rng.choice(50, 5, replace=False).tolist())
        rest = [i for i in rng.permutation(50).tolist() if i not in relevant]
        good = list(relevant)[:3] + rest[:3] + list(relevant)[3:] + rest[3:]  # most relevant items on top
        bad = rest[:8] + list(relevant) + rest[8:]  # relevant items pushed down
        items, teams = team_draft(good, bad, 10, rng)
        # position-biased user: examines slot i with probability 1 / (i + 1), clicks what is relevant
        clicks = [i for i, it in enumerate(items) if it in relevant and rng.random() < 1 / (i + 1)]
        outcomes.append(credit(teams, clicks))
    res = summarise(outcomes)
    assert res.wins_a > 3 * res.wins_b and res.p_value < 1e-6 and res.delta > 0.2


def bandit(n: int, seed: int) -> dict[str, np.ndarray]:
    """Logged data of a uniform logging policy over 4 actions; the target policy prefers the best one."""
    rng = np.random.default_rng(seed)
    mean = np.array([0.1, 0.2, 0.3, 0.6])
    target = np.array([0.1, 0.1, 0.2, 0.6])
    a = rng.integers(0, 4, n)
    r = (rng.random(n) < mean[a]).astype(float)
    return {
        "r": r, "lp": np.full(n, 0.25), "tp": target[a], "true": np.array(float(target @ mean)),
        "q_log": mean[a] + rng.normal(0, 0.05, n), "q_tgt": np.full(n, float(target @ mean)),
    }  # fmt: skip


def test_off_policy_estimates_recover_the_new_policys_value() -> None:
    d = bandit(20_000, 0)
    true = float(d["true"])
    for est in (ips(d["r"], d["lp"], d["tp"]), snips(d["r"], d["lp"], d["tp"])):
        assert est.low < true < est.high
    dr = doubly_robust(d["r"], d["lp"], d["tp"], d["q_log"], d["q_tgt"])
    base = ips(d["r"], d["lp"], d["tp"])
    assert dr.low < true < dr.high
    assert dr.high - dr.low < base.high - base.low  # a good reward model narrows the interval
    clipped = ips(d["r"], d["lp"], d["tp"], clip=1.0)
    assert clipped.value < base.value  # clipping the 2.4x weights biases the estimate down
    with pytest.raises(InvalidInputError):
        ips([1.0], [0.0], [0.5])
