"""Snapshots (`core.snapshot`, `core.live_snapshot`): checksummed manifests, atomic publish, the temp sweep,
and `LiveSnapshot` swapping, refusing a corrupt version and falling back to the last good one."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moodboard.core.errors import CorruptSnapshotError, NotFoundError, SnapshotError
from moodboard.core.live_snapshot import LiveSnapshot
from moodboard.core.snapshot import (
    CURRENT,
    MANIFEST,
    current_snapshot,
    sweep_temp,
    verify_snapshot,
    write_snapshot,
)
from tests.snapshot_helpers import flip_a_byte, write_small_snapshot


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    snap = write_small_snapshot(tmp_path, b"hello world")
    files = json.loads((snap / MANIFEST).read_text())["files"]
    assert set(files) == {"data.bin", "sub/more.txt"}
    assert files["data.bin"]["bytes"] == 11
    assert files["data.bin"]["sha256"] == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    assert verify_snapshot(snap)["n"] == 11


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_damaged_snapshot_is_refused(tmp_path: Path, damage: str) -> None:
    snap = write_small_snapshot(tmp_path, bytes(range(256)) * 40)
    target = snap / "data.bin"
    if damage == "flip":
        flip_a_byte(target)  # same size: only the checksum sees it
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])  # a half-written file
    elif damage == "delete":
        target.unlink()
    else:
        (snap / MANIFEST).write_text('{"files": ')
    expected = SnapshotError if damage == "manifest" else CorruptSnapshotError
    with pytest.raises(expected) as info:
        verify_snapshot(snap)
    assert info.value.hint  # says what to run


def test_size_only_check_misses_a_flip_but_the_full_check_does_not(tmp_path: Path) -> None:
    snap = write_small_snapshot(tmp_path, b"a" * 1000)
    flip_a_byte(snap / "data.bin")
    verify_snapshot(snap, full=False)
    with pytest.raises(CorruptSnapshotError, match="checksum"):
        verify_snapshot(snap)


def test_legacy_snapshot_without_checksums_still_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    snap = write_small_snapshot(tmp_path, b"old")
    manifest = json.loads((snap / MANIFEST).read_text())
    del manifest["files"]
    (snap / MANIFEST).write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING):
        assert verify_snapshot(snap)["source"] == "test"
    assert "no checksums" in caplog.text


def test_sweep_removes_dead_writers_temp_folders_only(tmp_path: Path) -> None:
    base = tmp_path / "thing"
    base.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    from moodboard.core.snapshot import _host

    (base / f".tmp-{dead_pid}@{_host()}-abc123").mkdir()
    (base / f".tmp-{os.getppid()}@{_host()}-live99").mkdir()  # a live writer (this test's parent process)
    (base / f".tmp-{dead_pid}@otherhost-young1").mkdir()  # another host's writer: only removed after a day
    (base / f".CURRENT.{dead_pid}@{_host()}").write_text("x\n")  # killed inside `set_current`
    old = base / ".tmp-legacy_x"
    old.mkdir()
    os.utime(old, (0, 0))  # an older version's temp name, long abandoned
    removed = {p.name for p in sweep_temp(tmp_path, "thing")}
    assert removed == {f".tmp-{dead_pid}@{_host()}-abc123", f".CURRENT.{dead_pid}@{_host()}", ".tmp-legacy_x"}
    write_small_snapshot(tmp_path, b"next")  # every writer sweeps first
    names = {p.name for p in base.iterdir() if p.name.startswith(".")}  # a set: pids sort as strings
    assert names == {f".tmp-{os.getppid()}@{_host()}-live99", f".tmp-{dead_pid}@otherhost-young1"}


def test_live_snapshot_swaps_refuses_corrupt_and_keeps_the_old_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loads: list[str] = []

    def load(path: Path) -> bytes:
        verify_snapshot(path)
        loads.append(path.name)
        return (path / "data.bin").read_bytes()

    live: LiveSnapshot[bytes] = LiveSnapshot(tmp_path, "thing", load, check_every_s=0)
    with pytest.raises(NotFoundError):
        live.get()
    first = write_small_snapshot(tmp_path, b"one")
    assert live.get() == b"one" and live.path == first
    second = write_small_snapshot(tmp_path, b"two")
    assert live.get() == b"two"
    third = write_small_snapshot(tmp_path, b"three")
    flip_a_byte(third / "data.bin")
    with caplog.at_level(logging.ERROR):
        assert live.get() == b"two"
        assert live.get() == b"two"
    refusals = [r for r in caplog.records if "refusing thing snapshot" in r.getMessage()]
    assert len(refusals) == 1 and third.name in refusals[0].getMessage()  # logged once, not per request
    status = live.status()
    assert status.serving == second and status.current == third
    assert isinstance(status.error, CorruptSnapshotError)
    assert loads.count(third.name) == 0  # refused before the loader trusted its bytes
    fixed = write_small_snapshot(tmp_path, b"four")
    assert live.get() == b"four" and live.status().error is None and live.path == fixed


def test_live_snapshot_at_start_up_falls_back_to_the_newest_good_version(tmp_path: Path) -> None:
    def load(path: Path) -> bytes:
        verify_snapshot(path)
        return (path / "data.bin").read_bytes()

    write_small_snapshot(tmp_path, b"one")
    write_small_snapshot(tmp_path, b"two")
    broken = write_small_snapshot(tmp_path, b"three")
    (broken / "data.bin").write_bytes(b"th")  # a half-written file
    live: LiveSnapshot[bytes] = LiveSnapshot(tmp_path, "thing", load, check_every_s=0)
    assert live.get() == b"two"
    assert live.status().current == broken and live.status().error is not None
    for p in (tmp_path / "thing").iterdir():
        if p.is_dir() and p != broken:
            (p / "data.bin").unlink()
    nothing: LiveSnapshot[bytes] = LiveSnapshot(tmp_path, "thing", load, check_every_s=0)
    with pytest.raises(CorruptSnapshotError):
        nothing.get()  # nothing good to serve: a clear error, not garbage


def test_pointer_to_a_missing_version_keeps_serving(tmp_path: Path) -> None:
    read = lambda p: (p / "data.bin").read_bytes()  # noqa: E731
    live: LiveSnapshot[bytes] = LiveSnapshot(tmp_path, "thing", read, check_every_s=0)
    write_small_snapshot(tmp_path, b"one")
    assert live.get() == b"one"
    (tmp_path / "thing" / "CURRENT").write_text("20990101T000000-000000\n")
    assert live.get() == b"one" and live.status().error is not None


def test_a_failed_build_leaves_nothing_and_keeps_the_old_current(tmp_path: Path) -> None:
    old = write_small_snapshot(tmp_path, b"one")

    def boom(tmp: Path) -> None:
        (tmp / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed half way")

    with pytest.raises(RuntimeError):
        write_snapshot(tmp_path, "thing", boom, {})
    assert current_snapshot(tmp_path, "thing") == old
    assert sorted(p.name for p in (tmp_path / "thing").iterdir()) == sorted([old.name, CURRENT])
