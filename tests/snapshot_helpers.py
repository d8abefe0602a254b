"""Small snapshots for tests of `core.snapshot` and the holders built on it, and a way to corrupt one."""

from __future__ import annotations

from pathlib import Path

from moodboard.core.snapshot import write_snapshot


def write_small_snapshot(root: Path, payload: bytes, kind: str = "thing") -> Path:
    """Publish a `kind` snapshot under `root` holding `payload` in data.bin and a file in a subfolder."""

    def build(tmp: Path) -> dict[str, int]:
        (tmp / "data.bin").write_bytes(payload)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "more.txt").write_text("x" * 10)
        return {"n": len(payload)}

    return write_snapshot(root, kind, build, {"source": "test"})


def flip_a_byte(path: Path) -> None:
    """Corrupt a file without changing its size (a checksum, not a size check, must catch it)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
