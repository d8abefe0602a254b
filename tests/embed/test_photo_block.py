"""Photo domain adapter for the image-only block, on synthetic features with a domain shift."""

from __future__ import annotations

import numpy as np
import pytest

from moodboard.core.errors import InvalidInputError
from moodboard.embed.photo_block import PhotoBlockConfig, fit_photo_block


def _domains(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """3 categories in 24 features. Packshots show their category in features 0-7, photos in features
    8-15 (another "domain"); features 16-23 are strong nuisance in both: raw similarity cannot match them."""
    rng = np.random.default_rng(seed)
    y_cat, y_ph = np.repeat(np.arange(3), 40), np.repeat(np.arange(3), 60)
    cat = 0.2 * rng.standard_normal((120, 24))
    cat[:, :8] += 2.0 * rng.standard_normal((3, 8))[y_cat]
    cat[:, 16:] += 3.0 * rng.standard_normal((120, 8))
    ph = 0.2 * rng.standard_normal((180, 24))
    ph[:, 8:16] += 2.0 * rng.standard_normal((3, 8))[y_ph]
    ph[:, 16:] += 3.0 * rng.standard_normal((180, 8))
    return cat.astype(np.float32), y_cat, ph.astype(np.float32), y_ph


def _accuracy(mean: np.ndarray, proj: np.ndarray, cat, y_cat, ph, y_ph) -> float:
    """Share of photos whose nearest catalog category centroid (in the block) is their own."""

    def block(x: np.ndarray) -> np.ndarray:
        z = (x / np.linalg.norm(x, axis=1, keepdims=True) - mean) @ proj
        return z / np.linalg.norm(z, axis=1, keepdims=True)

    centroids = np.stack([block(cat)[y_cat == c].mean(0) for c in range(3)])  # (3, k)
    return float((np.argmax(block(ph) @ centroids.T, axis=1) == y_ph).mean())


def test_photos_find_their_category_after_fitting() -> None:
    cat, y_cat, ph, y_ph = _domains()
    train, test = np.arange(0, 180, 2), np.arange(1, 180, 2)  # fit on half the photos, check the other half
    allowed = np.eye(3, dtype=bool)[y_ph[train]]
    mean, proj = fit_photo_block(cat, y_cat, ph[train], allowed, 4, PhotoBlockConfig(epochs=40, batch_size=16))
    assert mean.shape == (24,) and proj.shape == (24, 4)
    raw_mean = (cat / np.linalg.norm(cat, axis=1, keepdims=True)).mean(0)
    raw = _accuracy(raw_mean, np.eye(24), cat, y_cat, ph[test], y_ph[test])
    fitted = _accuracy(mean, proj, cat, y_cat, ph[test], y_ph[test])
    assert fitted >= 0.9 and fitted > raw + 0.2


def test_a_photo_may_allow_several_categories() -> None:
    """A photo labelled {0, 1} is pulled towards either; it must not be pushed to category 2."""
    cat, y_cat, ph, y_ph = _domains(1)
    allowed = np.zeros((180, 3), dtype=bool)
    allowed[y_ph < 2, 0] = allowed[y_ph < 2, 1] = True
    allowed[y_ph == 2, 2] = True
    mean, proj = fit_photo_block(cat, y_cat, ph, allowed, 4, PhotoBlockConfig(epochs=40, batch_size=16))
    z = (ph / np.linalg.norm(ph, axis=1, keepdims=True) - mean) @ proj
    c = (cat / np.linalg.norm(cat, axis=1, keepdims=True) - mean) @ proj
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    centroids = np.stack([c[y_cat == k].mean(0) for k in range(3)])
    nearest = np.argmax((z / np.linalg.norm(z, axis=1, keepdims=True)) @ centroids.T, axis=1)
    assert ((nearest < 2) == (y_ph < 2)).mean() >= 0.9


def test_bad_photo_labels() -> None:
    cat, y_cat, ph, _ = _domains()
    with pytest.raises(InvalidInputError, match="at least one"):
        fit_photo_block(cat, y_cat, ph, np.zeros((180, 3), dtype=bool), 4)
    with pytest.raises(InvalidInputError, match="one label row"):
        fit_photo_block(cat, y_cat, ph, np.ones((5, 3), dtype=bool), 4)
    with pytest.raises(InvalidInputError, match="below the number"):
        fit_photo_block(cat, y_cat + 5, ph, np.ones((180, 3), dtype=bool), 4)
