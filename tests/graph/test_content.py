"""Content neighbours of the taste graph: exact scan for small catalogs, IVF proposals re-scored above."""

from __future__ import annotations

import numpy as np

from moodboard.graph.content import ContentNeighbours


def clustered(n: int, d: int = 32, clusters: int = 100, seed: int = 0) -> np.ndarray:
    """(n, d) unit vectors around `clusters` random centres: realistic neighbourhoods, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_scan_is_brute_force() -> None:
    x = clustered(2_000)
    content = ContentNeighbours(x)
    assert content.exact
    ids, sims = content.nearest(7, 25)
    truth = np.argsort(-(x @ x[7]), kind="stable")[:25]
    assert ids[0] == 7 and sims[0] == np.float32(x[7] @ x[7])
    np.testing.assert_array_equal(np.sort(ids), np.sort(truth))
    assert np.all(np.diff(sims) <= 0)
    assert len(content.nearest(3, 10_000)[0]) == 2_000 and len(content.nearest(3, 0)[0]) == 0


def test_ivf_finds_what_the_exact_scan_finds() -> None:
    x = clustered(20_000)
    ivf = ContentNeighbours(x, exact_below=0, nprobe=16)
    exact = ContentNeighbours(x)
    ivf.warm()  # already building on a background thread; this waits for it
    assert not ivf.exact and ivf.ready and not exact.ready
    hits = 0
    for row in range(0, 20_000, 400):  # 50 queries
        got, sims = ivf.nearest(row, 20)
        want, _ = exact.nearest(row, 20)
        assert got[0] == row
        np.testing.assert_allclose(sims, x[got] @ x[row], rtol=1e-6)  # scores are exact, not quantised
        hits += len(set(got.tolist()) & set(want.tolist()))
    assert hits / (50 * 20) >= 0.95


def test_ivf_on_a_tiny_catalog_still_answers() -> None:
    x = clustered(30, d=8, clusters=3)
    content = ContentNeighbours(x, exact_below=0)
    ids, _ = content.nearest(4, 5)  # exact scan or index, whichever is ready: the same answer here
    assert ids[0] == 4 and len(ids) == 5
    content.warm()
    assert content.ready and content.nearest(4, 5)[0][0] == 4
