"""`moodboard serve --workers 2`: two worker processes behind one port, one rate-limit quota between them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_workers_share_one_rate_limit(tmp_path: Path) -> None:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOODBOARD_")}
    env |= {
        "MOODBOARD_HOME": str(tmp_path / "home"),
        "MOODBOARD_API__WARM_UP": "false",
        "MOODBOARD_API__RATE_LIMIT_PER_MINUTE": "1",
        "MOODBOARD_API__RATE_LIMIT_BURST": "6",
    }
    cmd = [sys.executable, "-m", "moodboard.cli.main", "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        # a fresh connection per request, so the kernel spreads them over both workers
        codes = [httpx.get(url + "/pins", timeout=30).status_code for _ in range(12)]
        assert codes.count(200) == 6 and codes.count(429) == 6, codes  # per-worker buckets would allow up to 12
        assert len(children) >= 2, children  # uvicorn's supervisor runs two worker processes
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert not list(Path("/dev/shm").glob(f"moodboard-ratelimit-{proc.pid}-*"))  # the shared file is removed
