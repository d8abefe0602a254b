"""The live server meets a corrupt index snapshot: a job (or a disk) publishes a damaged version while it
serves. It must refuse it with one clear log line, keep answering from the last good index, and say so in
`/readyz`; pointing `CURRENT` back restores a clean bill of health."""

from __future__ import annotations

import shutil
import time

import httpx

from moodboard.core.snapshot import current_snapshot, set_current
from tests.hostile.conftest import Live, assert_clean

SWAP_WAIT_S = 2.5  # IndexHolder checks the pointer at most every 2 s


def _search(live: Live) -> list[int]:
    r = httpx.post(f"{live.url}/search", json={"text": "red circle", "k": 5, "cutoff": False}, timeout=60)
    assert_clean(r, 200)
    return [hit["pin_id"] for hit in r.json()["results"]]


def test_corrupt_new_index_is_refused_and_the_old_one_keeps_serving(live: Live) -> None:
    snapshots = live.home / "snapshots"
    good = current_snapshot(snapshots, "index")
    assert good is not None
    before = _search(live)
    bad = good.parent / "29991231T235959-000000"  # sorts after every real version
    shutil.copytree(good, bad)
    victim = max((p for p in (bad / "vectors").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    victim.write_bytes(bytes(data))
    try:
        set_current(snapshots, "index", bad.name)
        time.sleep(SWAP_WAIT_S)
        assert _search(live) == before  # the refused snapshot never answered
        assert _search(live) == before
        ready = httpx.get(f"{live.url}/readyz", timeout=30).json()
        assert ready["snapshots"]["index"] == "corrupt"
        problem = next(p for p in ready["problems"] if p["snapshot"] == "index")
        assert "checksum" in problem["detail"] and "moodboard index" in problem["hint"]
        log = (live.home.parent / "server.log").read_text()
        refusals = [line for line in log.splitlines() if f"refusing index snapshot {bad}" in line]
        # one clear line per worker process (`serve` runs one per core), not one per request
        assert 1 <= len(refusals) <= 8, log[-2000:]
    finally:
        set_current(snapshots, "index", good.name)
        shutil.rmtree(bad)
    time.sleep(SWAP_WAIT_S)
    assert _search(live) == before
    assert httpx.get(f"{live.url}/readyz", timeout=30).json()["snapshots"]["index"] == "ok"
