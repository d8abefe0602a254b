"""Off-policy estimates of a new ranker's value from logged propensities: IPS, SNIPS and doubly robust.

Each logged record is one shown action (a pin in a slot) with the reward observed (click / save), the
probability the logging policy had of showing it, and the probability the new policy would show it.
IPS reweights rewards by target / logging probability (Horvitz-Thompson); SNIPS divides by the mean
weight; DR (Dudík, Langford and Li, ICML 2011) adds a reward model's prediction and reweights only its
residual, which keeps the estimate unbiased when either the propensities or the model are right and
usually shrinks its variance. Weights can be clipped (bias for variance). Intervals are normal ones from
the per-record terms' standard error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from moodboard.core.errors import InvalidInputError

Z95 = 1.959963984540054


@dataclass(frozen=True)
class PolicyEstimate:
    """Estimated mean reward per record of the target policy, with a 95 % interval."""

    value: float
    low: float
    high: float
    effective_sample_size: float


def _weights(logging_p: ArrayLike, target_p: ArrayLike, clip: float | None) -> np.ndarray:
    lp = np.asarray(logging_p, dtype=np.float64)
    tp = np.asarray(target_p, dtype=np.float64)
    if lp.shape != tp.shape or np.any(lp <= 0) or np.any(lp > 1) or np.any(tp < 0) or np.any(tp > 1):
        raise InvalidInputError(
            "propensities must be same-shape probabilities, logging ones > 0",
            "log the probability the serving policy had of showing each item",
        )
    w = tp / lp
    return np.minimum(w, clip) if clip is not None else w


def _estimate(terms: np.ndarray, w: np.ndarray) -> PolicyEstimate:
    n = len(terms)
    v = float(terms.mean()) if n else float("nan")
    se = float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    ess = float(w.sum() ** 2 / max(float((w * w).sum()), 1e-300)) if n else 0.0
    return PolicyEstimate(v, v - Z95 * se, v + Z95 * se, ess)


def ips(rewards: ArrayLike, logging_p: ArrayLike, target_p: ArrayLike, clip: float | None = None) -> PolicyEstimate:
    """Inverse propensity scoring: mean of reward x target / logging probability."""
    w = _weights(logging_p, target_p, clip)
    return _estimate(np.asarray(rewards, dtype=np.float64) * w, w)


def snips(rewards: ArrayLike, logging_p: ArrayLike, target_p: ArrayLike, clip: float | None = None) -> PolicyEstimate:
    """Self-normalised IPS: the IPS sum divided by the sum of weights (lower variance, small bias)."""
    w = _weights(logging_p, target_p, clip)
    r = np.asarray(rewards, dtype=np.float64)
    scale = len(w) / max(float(w.sum()), 1e-300)
    return _estimate(r * w * scale, w)


def doubly_robust(
    rewards: ArrayLike,
    logging_p: ArrayLike,
    target_p: ArrayLike,
    predicted_logged: ArrayLike,
    predicted_target: ArrayLike,
    clip: float | None = None,
) -> PolicyEstimate:
    """Doubly robust: model's expected reward under the target policy + reweighted residual of the logged action.

    Args:
        rewards: observed reward of each logged action (n,).
        logging_p: probability the logging policy had of that action (n,).
        target_p: probability the new policy has of that action (n,).
        predicted_logged: the reward model's prediction for the logged action (n,).
        predicted_target: the reward model's expected reward of the new policy in that context (n,).
        clip: cap on the importance weights, or None.
    """
    w = _weights(logging_p, target_p, clip)
    r = np.asarray(rewards, dtype=np.float64)
    q_log = np.asarray(predicted_logged, dtype=np.float64)
    q_tgt = np.asarray(predicted_target, dtype=np.float64)
    return _estimate(q_tgt + w * (r - q_log), w)
