"""Relevance-cutoff calibration: separable, overlapping and degenerate score samples."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.rank.calibration import choose_cutoff, null_texts


def test_separable_samples_put_the_cutoff_in_the_gap() -> None:
    cal = choose_cutoff(np.array([0.6, 0.7, 0.8, 0.9]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert 0.4 < cal["cutoff"] < 0.6 and cal["separable"]
    assert cal["relevant_kept"] == 1.0 and cal["null_rejected"] == 1.0
    assert cal["floor"] == pytest.approx(0.25)


def test_overlap_is_reported_not_hidden() -> None:
    rng = np.random.default_rng(0)
    cal = choose_cutoff(rng.normal(0.6, 0.1, 500), rng.normal(0.45, 0.1, 500))
    assert cal["separable"] and 0.45 < cal["cutoff"] < 0.6
    assert 0.5 < cal["relevant_kept"] < 1 and 0.5 < cal["null_rejected"] < 1


def test_inseparable_samples_fall_back_to_null_q95() -> None:
    rng = np.random.default_rng(1)
    same = rng.normal(0.3, 0.05, 400)
    cal = choose_cutoff(same[:200], same[200:])
    assert not cal["separable"]
    assert cal["cutoff"] == pytest.approx(np.quantile(same[200:], 0.95))


def test_bad_samples() -> None:
    with pytest.raises(InvalidInputError):
        choose_cutoff(np.array([]), np.array([0.1]))
    with pytest.raises(InvalidInputError):
        choose_cutoff(np.array([np.nan]), np.array([0.1]))


def test_null_texts_are_seeded_nonsense() -> None:
    a, b = null_texts(20, seed=3), null_texts(20, seed=3)
    assert a == b and len(set(a)) == 20 and all(2 <= len(t.split()) <= 4 for t in a)
