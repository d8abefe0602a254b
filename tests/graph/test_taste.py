"""Taste profiles: Ward clusters, medoids, importance sampling and neighbourhood vectors."""

from __future__ import annotations

import numpy as np

from moodboard.graph.csr import TasteGraph
from moodboard.graph.taste import NeighbourhoodVectors, build_profile, sample_interests


def test_two_tastes_give_two_interests_with_medoids() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal([5, 0, 0], 0.1, size=(6, 3))
    b = rng.normal([0, 5, 0], 0.1, size=(3, 3))
    x = np.vstack([a, b]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pins = np.arange(10, 19, dtype=np.int32)
    weights = np.ones(9, np.float32)
    prof = build_profile(pins, weights, x, max_interests=5)
    assert len(prof.interests) == 2
    big, small = prof.interests
    assert set(big.members.tolist()) == set(range(10, 16)) and big.importance == 6.0
    assert big.medoid in big.members and small.medoid in range(16, 19)


def test_interest_sampling_follows_importance_and_seed() -> None:
    pins = np.arange(4, dtype=np.int32)
    x = np.eye(4, dtype=np.float32)
    prof = build_profile(pins, np.array([100, 1, 1, 1], np.float32), x, threshold=0.01)
    assert len(prof.interests) == 4
    counts = np.zeros(4)
    for s in range(200):
        (it,) = sample_interests(prof, 1, np.random.default_rng(s))
        counts[it.medoid] += 1
    assert counts[0] > 150
    a = sample_interests(prof, 2, np.random.default_rng(9))
    b = sample_interests(prof, 2, np.random.default_rng(9))
    assert [i.medoid for i in a] == [i.medoid for i in b]


def test_neighbourhood_vectors_separate_communities(communities: TasteGraph) -> None:
    nv = NeighbourhoodVectors(communities)
    cats = communities.pin_index([int(p) for p in communities.pin_ids if p < 200][:5])
    dogs = communities.pin_index([int(p) for p in communities.pin_ids if 200 <= p < 300][:5])
    v = nv.vectors(np.concatenate([cats, dogs]))
    sims = v @ v.T
    assert np.allclose(sims[:5, 5:], 0.0)
    assert (sims[:5, :5] >= 0).all() and np.allclose(np.diag(sims), 1.0, atol=1e-5)
    proj = NeighbourhoodVectors(communities, exact_max=1, dim=256).vectors(np.concatenate([cats, dogs]))
    assert proj.shape == (10, 256)
    assert float((proj[:5] @ proj[5:].T).mean()) < float((proj[:5] @ proj[:5].T).mean())


def test_profile_on_graph_splits_a_two_community_user(communities: TasteGraph) -> None:
    nv = NeighbourhoodVectors(communities)
    pins = communities.pin_index([100, 101, 102, 103, 200, 201, 202, 203])
    pins = pins[pins >= 0]
    prof = build_profile(pins, np.ones(len(pins), np.float32), nv.vectors(pins))
    groups = [set((communities.pin_ids[it.members] // 100).tolist()) for it in prof.interests]
    assert all(len(g) == 1 for g in groups) and {1, 2} == set().union(*groups)


def test_interest_slots_share_the_first_k_by_importance_and_interleave() -> None:
    from moodboard.graph.taste import Interest, interest_slots

    interests = [Interest(0, np.array([0], np.int32), 3.0), Interest(1, np.array([1], np.int32), 1.0)]
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.05, 0.01])
    owner = np.array([0, 0, 0, 0, 0, 1, 1, 1])  # the second interest only has low scores
    order = interest_slots(scores, owner, interests, k=4).tolist()
    assert order[:4] == [0, 5, 1, 2]  # quota 3 + 1, interleaved, best first within each interest
    assert sorted(order) == list(range(8))  # everything else follows by score
