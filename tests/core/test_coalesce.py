"""The coalescer merges concurrent calls into one run, gives each caller its own results, and its errors."""

from __future__ import annotations

import threading
import time

import pytest

from moodboard.core.coalesce import Coalescer


def test_a_lone_call_runs_at_once_with_its_own_items() -> None:
    seen: list[list[int]] = []
    co: Coalescer[int, int] = Coalescer(lambda xs: seen.append(list(xs)) or [x * 10 for x in xs])
    assert co([1, 2]) == [10, 20] and co([3]) == [30]
    assert seen == [[1, 2], [3]] and co.runs == 2


def _slow_square(runs: list[list[int]], gate: threading.Event) -> Coalescer[int, int]:
    def fn(xs: list[int]) -> list[int]:
        runs.append(list(xs))
        gate.wait(5)  # the first run holds the function busy until the other callers have queued
        return [x * x for x in xs]

    return Coalescer(fn, max_batch=8)


def test_calls_that_arrive_while_busy_go_together_and_get_their_own_slices() -> None:
    runs: list[list[int]] = []
    gate = threading.Event()
    co = _slow_square(runs, gate)
    out: dict[int, list[int]] = {}

    def call(i: int) -> None:
        out[i] = co([i, i + 100])

    first = threading.Thread(target=call, args=(0,))
    first.start()
    while not runs:
        time.sleep(0.001)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 4)]
    for t in others:
        t.start()
    while co.calls < 4:
        time.sleep(0.001)
    gate.set()
    for t in [first, *others]:
        t.join(5)
    assert out == {i: [i * i, (i + 100) ** 2] for i in range(4)}
    assert runs[0] == [0, 100] and len(runs) == 2  # the three waiting calls ran as one batch
    assert sorted(runs[1]) == sorted([1, 101, 2, 102, 3, 103])


def test_a_batch_takes_at_most_max_batch_items_but_always_one_call() -> None:
    runs: list[list[int]] = []
    co: Coalescer[int, int] = Coalescer(lambda xs: runs.append(list(xs)) or list(xs), max_batch=2)
    assert co([1, 2, 3]) == [1, 2, 3]  # one call larger than max_batch still runs whole
    with pytest.raises(ValueError):
        Coalescer(lambda xs: xs, max_batch=0)


def test_an_error_reaches_every_caller_of_its_batch_and_the_next_run_is_fresh() -> None:
    calls = {"n": 0}

    def fn(xs: list[int]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("tower failed")
        return list(xs)

    co: Coalescer[int, int] = Coalescer(fn)
    with pytest.raises(OSError, match="tower failed"):
        co([1])
    assert co([2]) == [2]
    bad: Coalescer[int, int] = Coalescer(lambda xs: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        bad([1])


def test_many_threads_all_get_answers() -> None:
    co: Coalescer[int, int] = Coalescer(lambda xs: (time.sleep(0.002), [x + 1 for x in xs])[1], max_batch=16)
    out: dict[int, list[int]] = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, co([i]))) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert out == {i: [i + 1] for i in range(64)}
    assert co.runs < 64  # some calls shared a run
