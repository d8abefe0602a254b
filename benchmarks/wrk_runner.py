"""Drive an HTTP server with `wrk` (Debian package; `scripts/install_wrk.sh`) and read its results back.

Each load is a `Scenario`: a list of requests that every connection cycles through (each wrk thread
starts at its own offset), or a Lua expression that builds a fresh body per request (unique queries).
Bodies may be binary (multipart uploads): they are written to files that the generated Lua script reads.
The script's `done` hook prints one `WRKJSON {...}` line with counts, errors and latency percentiles.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Req:
    """One HTTP request of a scenario."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Scenario:
    """A named load: fixed requests cycled round-robin, or a Lua body expression (`dynamic_body`)."""

    name: str
    requests: list[Req]
    dynamic_body: str = ""  # Lua expression using `tid`, `n`, `pick(list)`, `words`; replaces each body
    fresh: Callable[[], list[Req]] | None = None  # called before each run for requests never sent before
    stride: bool = False  # thread t sends requests t, t+T, t+2T, ...: no two threads share one
    background: Scenario | None = None  # a second load run alongside (its figures are reported too)


def _lua_bytes(data: bytes) -> str:
    """A Lua string literal holding `data` exactly (decimal escapes for anything not plain ASCII)."""
    out = []
    for b in data:
        ch = chr(b)
        if ch in '"\\' or b < 32 or b > 126:
            out.append(f"\\{b:03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_LUA = r"""
local reqs = {}
%(reqs)s
local words = {%(words)s}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local n = 0
local function read_file(p)
  local f = assert(io.open(p, "rb")); local d = f:read("*a"); f:close(); return d
end
local stride = %(stride)d
function init(args)
  for i, r in ipairs(reqs) do
    if r.file ~= nil then r.body = read_file(r.file) end
  end
  if stride == 0 then n = (tid or 0) * 7919 end
end
local function pick(list) return list[(n %% #list) + 1] end
function request()
  local r
  if stride > 0 then
    r = reqs[((n * stride + tid) %% #reqs) + 1]
  else
    r = reqs[(n %% #reqs) + 1]
  end
  n = n + 1
  local body = r.body
  %(dynamic)s
  return wrk.format(r.method, r.path, r.headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"mean_us":%%.1f,"max_us":%%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def write_script(scenario: Scenario, folder: Path, nonce: int, words: list[str], threads: int = 1) -> Path:
    """Write the Lua script (and body files) of `scenario` under `folder`; returns the script path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, r in enumerate(scenario.requests):
        headers = ", ".join(f"[{_lua_bytes(k.encode())}] = {_lua_bytes(v.encode())}" for k, v in r.headers.items())
        if len(r.body) > 2048:
            body_file = folder / f"{scenario.name}-{i}.body"
            body_file.write_bytes(r.body)
            body = f'file = "{body_file}", body = ""'
        else:
            body = f"body = {_lua_bytes(r.body)}"
        lines.append(
            f"reqs[{i + 1}] = {{method = {_lua_bytes(r.method.encode())}, path = {_lua_bytes(r.path.encode())}, "
            f"headers = {{{headers}}}, {body}}}"
        )
    dynamic = f"body = {scenario.dynamic_body}" if scenario.dynamic_body else ""
    dynamic = dynamic.replace("NONCE", str(nonce))
    script = _LUA % {
        "reqs": "\n".join(lines),
        "words": ", ".join(_lua_bytes(w.encode()) for w in words),
        "dynamic": dynamic,
        "stride": threads if scenario.stride else 0,
    }
    path = folder / f"{scenario.name}.lua"
    path.write_text(script)
    return path


def wrk_binary() -> str:
    """The `wrk` executable, installing it with the project's script when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    script = Path(__file__).resolve().parents[1] / "scripts" / "install_wrk.sh"
    subprocess.run(["bash", str(script)], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and scripts/install_wrk.sh could not install it")
    return found


def run_wrk(
    url: str, script: Path, connections: int, duration_s: float, threads: int, timeout_s: float
) -> dict[str, Any]:
    """Run wrk once; returns requests/s, p50/p99 in ms, error counts and the load average around the run."""
    threads = max(1, min(threads, connections))
    load_before = os.getloadavg()[0]
    cmd = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "connections": connections,
        "threads": threads,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "error_kinds": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]},
        "seconds": round(seconds, 2),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
