"""The sequence model, its training loop, the candidate source and the `sequence` snapshot (issue 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from moodboard.core.errors import InvalidInputError
from moodboard.core.settings import SequenceSettings
from moodboard.jobs.sequence_job import SequenceData, run_sequence_job, sequences_from_arrays, times_from_arrays
from moodboard.rank.metrics import full_rank_of_target
from moodboard.rank.sequence_model import SequenceConfig, SequenceModel, seen_mask
from moodboard.rank.sequence_source import SequenceSource, current_sequence_source
from moodboard.rank.sequence_training import TrainConfig, score_all, shuffle_ties, train_sequence_model

N = 12  # items 1..12


def cycles(n_users: int, length: int, seed: int = 0) -> list[np.ndarray]:
    """Each user walks the cycle 1 -> 2 -> ... -> N -> 1 from a random start: the next item is obvious."""
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(N)) + np.arange(length)) % N + 1 for _ in range(n_users)]


def small(objective: str = "next_item", content_dim: int = 0) -> SequenceConfig:
    """A tiny model that trains in about a second."""
    return SequenceConfig(
        n_items=N, max_len=8, d_model=16, n_layers=1, n_heads=2, dropout=0.0,
        content_dim=content_dim, objective=objective, all_action_window=3,  # type: ignore[arg-type]
    )  # fmt: skip


def test_hidden_state_is_causal_and_ignores_padding() -> None:
    torch.manual_seed(0)
    model = SequenceModel(small()).eval()
    seq = torch.tensor([[0, 0, 3, 4, 5, 6, 7, 8]])
    changed = seq.clone()
    changed[0, -1] = 1
    with torch.no_grad():
        a, b = model(seq), model(changed)
        unpadded = model(seq[:, 2:])
    assert torch.allclose(a[0, :-1], b[0, :-1], atol=1e-6)  # a later item never changes an earlier state
    assert not torch.allclose(a[0, -1], b[0, -1])
    assert torch.allclose(a[0, -1], unpadded[0, -1], atol=1e-5)  # padding is invisible


def test_serving_encoder_matches_the_training_encoder() -> None:
    # encode_last (no mask, last block on the newest position only) must give the user embedding that
    # the padded batch path gives, or serving would rank with a different model than the one validated
    torch.manual_seed(0)
    model = SequenceModel(SequenceConfig(n_items=N, max_len=8, d_model=16, n_layers=3, n_heads=4)).eval()
    seq = torch.tensor([[0, 0, 0, 3, 4, 5, 6, 7]])
    with torch.no_grad():
        padded = model.user_embedding(seq)[0]
        served = model.encode_last(model.item_table()[seq[0, 3:]])
    assert torch.allclose(padded, served, atol=1e-5)


def test_seen_mask_hides_earlier_items_but_never_the_target() -> None:
    inp = torch.tensor([[0, 2, 3, 5], [1, 4, 5, 6]])
    targets = torch.tensor([[[2], [3], [5], [7]], [[4], [5], [6], [1]]])  # (B, T, W=1): the next items
    b_idx, t_idx = torch.nonzero(inp > 0, as_tuple=True)
    mask = seen_mask(inp, b_idx, t_idx, targets[b_idx, t_idx], 8)  # (M, 8)
    got = {
        (int(b), int(t)): set(torch.nonzero(m).flatten().tolist()) - {0}
        for b, t, m in zip(b_idx, t_idx, mask, strict=True)
    }
    assert got == {
        (0, 1): {2}, (0, 2): {2, 3}, (0, 3): {2, 3, 5},
        (1, 0): {1}, (1, 1): {1, 4}, (1, 2): {1, 4, 5},
        (1, 3): {4, 5, 6},  # item 1 comes again as the target: it stays in the softmax
    }  # fmt: skip


def test_mask_seen_learns_the_next_item_too() -> None:
    cfg = SequenceConfig(n_items=N, max_len=8, d_model=16, n_layers=1, n_heads=2, dropout=0.0, mask_seen=True)
    result = train_sequence_model(cfg, TrainConfig(epochs=40, batch_size=32, lr=1e-2), cycles(64, 10))
    test = cycles(50, 7, seed=1)
    history = [s[:-1] for s in test]
    # trained with the history out of the softmax, it may score engaged items high: rank as serving does
    ranks = full_rank_of_target(score_all(result.model, history), np.array([s[-1] for s in test]), history)
    assert (ranks < 1).mean() >= 0.9


def test_shuffle_ties_only_reorders_within_a_timestamp() -> None:
    seq = np.arange(1, 9)
    times = np.array([0, 0, 0, 5, 7, 7, 7, 9], dtype=np.float64)
    rng = np.random.default_rng(0)
    outs = [shuffle_ties(seq, times, rng) for _ in range(50)]
    for out in outs:
        assert sorted(out[:3]) == [1, 2, 3] and out[3] == 4 and sorted(out[4:7]) == [5, 6, 7] and out[7] == 8
    assert len({tuple(o) for o in outs}) > 10  # the ties really move
    with pytest.raises(InvalidInputError):
        train_sequence_model(small(), TrainConfig(epochs=1), [seq], times=[times[::-1]])


@pytest.mark.parametrize("objective", ["next_item", "all_action"])
def test_learns_an_obvious_next_item(objective: str) -> None:
    train = cycles(64, 10)
    result = train_sequence_model(small(objective), TrainConfig(epochs=40, batch_size=32, lr=1e-2), train)
    assert result.losses[-1] < result.losses[0]
    test = cycles(50, 7, seed=1)
    scores = score_all(result.model, [s[:-2] for s in test])
    next_rank = full_rank_of_target(scores, np.array([s[-2] for s in test]))
    after_rank = full_rank_of_target(scores, np.array([s[-1] for s in test]))
    if objective == "next_item":
        assert (next_rank < 1).mean() >= 0.9  # the next item of the cycle is ranked first
    else:  # every action in the 3-step window is predicted: the next two items share the top 3
        assert (next_rank < 3).mean() >= 0.9 and (after_rank < 3).mean() >= 0.9


def test_early_stopping_keeps_the_best_validated_weights() -> None:
    seen: list[float] = []

    def evaluate(model: SequenceModel) -> float:
        seen.append(float(len(seen) == 1))  # only the second check is "best"
        return seen[-1]

    result = train_sequence_model(
        small(), TrainConfig(epochs=50, eval_every=2, patience=2, batch_size=32), cycles(16, 6), evaluate=evaluate
    )
    assert result.best_epoch == 4 and result.best_score == 1.0
    assert len(seen) == 4  # stopped two checks after the best


def test_rejects_sequences_without_pairs_and_bad_indices() -> None:
    with pytest.raises(InvalidInputError):
        train_sequence_model(small(), TrainConfig(epochs=1), [np.array([1])])
    with pytest.raises(InvalidInputError):
        train_sequence_model(small(), TrainConfig(epochs=1), [np.array([1, N + 1])])


@pytest.fixture(scope="module")
def cycle_source() -> SequenceSource:
    """A source over a model trained on cycles; row i is pin 100 + i."""
    model = train_sequence_model(small(), TrainConfig(epochs=40, batch_size=32, lr=1e-2), cycles(64, 10)).model
    return SequenceSource(model, np.array([-1, *range(101, 101 + N)]), {7: [101, 102, 103]})


def test_source_candidates_and_online_update(cycle_source: SequenceSource) -> None:
    cands = cycle_source.candidates(7, 3)
    assert cands[0].pin_id == 104 and cands[0].source == "sequence"
    assert {c.pin_id for c in cands}.isdisjoint({101, 102, 103})  # engaged pins are left out
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    assert cycle_source.observe(7, 104) and not cycle_source.observe(7, 999)
    assert cycle_source.candidates(7, 1)[0].pin_id == 105  # the new event moved the user, no retraining
    assert cycle_source.candidates(12345, 5) == []  # unknown user: nothing to say
    scores = cycle_source.score(7, [105, 101, 999])
    assert scores[0] > scores[1] and scores[2] == -np.inf
    with pytest.raises(InvalidInputError):
        cycle_source.candidates(7, 0)


def test_cold_pin_is_scored_from_its_content_alone() -> None:
    # two tastes: items 1..6 (content [1, 0]) and 7..12 (content [0, 1]); users stay within one
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 7, 8) if u % 2 else rng.integers(7, 13, 8) for u in range(80)]
    content = np.zeros((N + 1, 2), np.float32)
    content[1:7, 0] = content[7:, 1] = 1.0
    model = train_sequence_model(
        small(content_dim=2), TrainConfig(epochs=30, batch_size=32, lr=1e-2), seqs, content
    ).model
    src = SequenceSource(model, np.arange(-1, N), {1: [1, 2, 3], 2: [7, 8, 9]})
    assert src.add_items([500, 501], np.array([[1, 0], [0, 1]], np.float32)) == 2
    assert src.add_items([500], np.array([[1, 0]], np.float32)) == 0  # already known
    a, b = src.score(1, [500, 501]), src.score(2, [500, 501])
    assert a[0] > a[1] and b[1] > b[0]  # each cold pin goes to the user whose taste its content matches
    no_content = SequenceSource(SequenceModel(small()), np.arange(-1, N))
    with pytest.raises(InvalidInputError):
        no_content.add_items([500], np.array([[1, 0]], np.float32))


def test_job_writes_a_snapshot_that_serves_the_same_candidates(tmp_path: Path) -> None:
    users = np.repeat(np.arange(30), 8)
    pins = np.concatenate([s + 1000 for s in cycles(30, 8)])
    codes = np.zeros(len(users), np.uint8)
    codes[5] = 3  # a hide is not an engagement
    ts = np.tile(np.arange(8.0), 30)
    histories = sequences_from_arrays(users, pins, codes, ts)
    times = times_from_arrays(users, codes, ts)
    assert len(histories[0]) == 7 and len(histories[1]) == 8
    assert times[0] == [0, 1, 2, 3, 4, 6, 7] and times[1] == list(range(8))  # aligned: the hide is out
    settings = SequenceSettings(max_len=8, d_model=16, n_layers=1, n_heads=2, epochs=20, eval_every=5, lr=1e-2)
    result = run_sequence_job(SequenceData(histories, times=times), settings, tmp_path)
    assert result.users == 30 and result.items == N and result.val_hr_at_10 is not None
    src = current_sequence_source(tmp_path)
    assert src is not None
    fresh = src.candidates(3, 5)
    assert [c.pin_id for c in fresh] and all(c.pin_id not in histories[3] for c in fresh)
    assert current_sequence_source(tmp_path / "none") is None
