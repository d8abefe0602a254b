"""Sample a running server's worker processes with py-spy (`pip install py-spy`) and summarise where time goes.

`record(pids, seconds, folder, name)` runs `py-spy record --format raw` (collapsed stacks) on each pid in
parallel; `summarise(files)` adds the stacks of all workers up and returns the frames with the largest
inclusive share of samples (a frame counted once per stack), the picture BENCHMARKS.md quotes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def _py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def record(pids: list[int], seconds: float, folder: Path, name: str, rate: int = 97) -> list[Path]:
    """Sample every pid for `seconds` (idle threads left out); returns the collapsed-stack files written."""
    exe = _py_spy()
    if exe is None:
        print("  py-spy is not installed: no profile (pip install py-spy)", flush=True)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        out = folder / f"{name}-{pid}.txt"
        cmd = [exe, "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", str(rate)]
        cmd += ["-f", "raw", "-o", str(out), "--nonblocking"]
        procs.append((out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    done = []
    for out, proc in procs:
        proc.wait(timeout=seconds + 60)
        if out.is_file() and out.stat().st_size:
            done.append(out)
    return done


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "src/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def summarise(files: list[Path], top: int = 25) -> dict[str, object]:
    """Total samples and the `top` frames by inclusive share (percent of all samples) over `files`."""
    inclusive: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            for frame in {_short(f) for f in stack.split(";")}:
                inclusive[frame] += n
    frames = [(f, round(100 * c / total, 1)) for f, c in inclusive.most_common(top)] if total else []
    return {"samples": total, "inclusive_percent": frames}
