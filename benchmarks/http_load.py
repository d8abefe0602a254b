"""HTTP serving speed of `moodboard serve` under a real load generator (wrk), with same-run baselines.

Home: a Myntra demo home built by the same steps as `make demo` (`moodboard demo --no-serve`: ingest,
personas, aligner, index, taste graph), or reused with `--home DIR` when its index and graph exist.
`--limit N` builds an evenly spaced N-item subset instead (the report says which).

Server: `moodboard serve` as a subprocess on 127.0.0.1 with its defaults (workers, threads, logging),
except that the rate limit is raised out of the way (`MOODBOARD_API__RATE_LIMIT_*`). Every scenario is
driven by wrk at 1, 16 and 64 connections (`--connections`) for `--duration` seconds each:

- `healthz`; `search` (12 distinct texts: the query-text cache is warm); `search_unique` (two catalog
  words and a number no request repeats: every query is embedded); `search_filters` (text + price and
  category filters); `image_search` (multipart upload of people's photos from clothing-small);
- `assistant_new` (the first message of a fresh session, sessions made before the run) and
  `assistant_followup` (refinements on ongoing sessions); `feed` (`/me/feed` as a demo persona);
  `related` (`/pins/{id}/related`).

Baselines in the same run: `bare` (benchmarks/bare_app.py, a bare FastAPI `/healthz` on the same
`uvicorn_options`), and `inprocess` (the `SearchService` called directly in this process, the server
stopped, one thread), so each HTTP figure is also a ratio. `--soak-s` then runs text search at 16
connections for that long, sampling the server's RSS (all its processes) every 10 s.

    python benchmarks/http_load.py --home /work/speed-home --json /tmp/http_load.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from load_fixtures import Fixtures, build_home, make_fixtures, scenarios
from pyspy_profile import record
from pyspy_profile import summarise as summarise_profile
from wrk_runner import Scenario, run_wrk, write_script

ROOT = Path(__file__).resolve().parents[1]
SERVER_SRC = [ROOT / "src"]  # `--src` swaps the server's moodboard source (e.g. an older commit, for before/after)
RAISED_LIMITS = {"MOODBOARD_API__RATE_LIMIT_PER_MINUTE": "1000000000", "MOODBOARD_API__RATE_LIMIT_BURST": "1000000000"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, **RAISED_LIMITS, "MOODBOARD_HOME": str(home)}
    env["PYTHONPATH"] = os.pathsep.join([str(SERVER_SRC[0]), str(ROOT), env.get("PYTHONPATH", "")])
    return env


class Server:
    """A server subprocess (its own process group) with its log in a file."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, log: Path) -> None:
        """Start `cmd`; it must listen on 127.0.0.1:`port`."""
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path: str, timeout_s: float, method: str = "GET", body: Any = None) -> float:
        """Poll `path` until it answers 200; returns the seconds waited."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self._log.name}")
            try:
                r = httpx.request(method, self.url + path, json=body, timeout=30)
                if r.status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{path} not ready after {timeout_s:.0f}s; see {self._log.name}")

    def pids(self) -> list[int]:
        """The server's process and its children (uvicorn workers)."""
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()] or [self.proc.pid]

    def rss_mb(self) -> float:
        """Resident memory of all the server's processes, in MiB."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def stop(self) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL)."""
        try:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
        self._log.close()


def start_moodboard(home: Path, port: int, workers: int | None, log: Path) -> Server:
    """`moodboard serve` on the home, waiting until a search answers (warm-up done)."""
    cmd = [sys.executable, "-m", "moodboard.cli.main", "--home", str(home), "serve", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    server = Server(cmd, _env(home), port, log)
    server.wait_ready("/healthz", 180)
    waited = server.wait_ready("/search", 600, "POST", {"text": "warm up", "k": 5})
    print(f"  moodboard serve ready on :{port} (search answered after {waited:.1f}s)", flush=True)
    return server


def start_bare(home: Path, port: int, workers: int | None, log: Path) -> Server:
    """benchmarks/bare_app.py on the same uvicorn options as `moodboard serve`."""
    code = (
        "import uvicorn\n"
        "from moodboard.core.settings import load_settings\n"
        "try:\n    from moodboard.cli.serve import uvicorn_options\n"
        f"    o = uvicorn_options(load_settings(), workers={workers!r})\n"
        "except ImportError:  # a moodboard from before `uvicorn_options`: uvicorn's defaults, as its serve used\n"
        "    o = {'host': '127.0.0.1', 'log_level': 'warning'}\n"
        f"o['port'] = {port}\n"
        "uvicorn.run('bare_app:app', **o)\n"
    )
    env = _env(home)
    env["PYTHONPATH"] = str(ROOT / "benchmarks") + os.pathsep + env["PYTHONPATH"]
    server = Server([sys.executable, "-c", code], env, port, log)
    server.wait_ready("/healthz", 120)
    return server


def prime(server: Server, scenario: Scenario) -> float | None:
    """Send a scenario's first requests once, untimed by wrk (lazy loads, JIT compiles); returns the first's ms."""
    if scenario.fresh is not None or not scenario.requests:
        return None
    first = None
    for req in scenario.requests[:3]:
        t0 = time.perf_counter()
        httpx.request(req.method, server.url + req.path, headers=req.headers, content=req.body, timeout=600)
        first = first if first is not None else round((time.perf_counter() - t0) * 1000, 1)
    return first


profiles: dict[str, Any] = {}  # py-spy summaries by scenario (`--py-spy`)


def drive(
    server: Server, items: list[Scenario], args: argparse.Namespace, folder: Path, words: list[str]
) -> list[dict]:
    """Run every scenario at every connection count; returns one row per run."""
    rows = []
    for si, scenario in enumerate(items):
        cold_ms = prime(server, scenario)
        for ci, conns in enumerate(args.connections):
            threads = max(1, min(args.wrk_threads, conns))
            if scenario.fresh is not None:
                scenario.requests = scenario.fresh()
            script = write_script(scenario, folder, nonce=1000 * (si + 1) + ci, words=words, threads=threads)
            profile = args.py_spy_dir and conns == 16 and scenario.name in args.py_spy.split(",")
            sampler = None
            if profile:
                found: list[Path] = []
                workers = server.pids()[1:] or server.pids()  # the supervisor only waits: sample its workers
                sampler = threading.Thread(
                    target=lambda out, *a: out.extend(record(*a)),
                    args=(found, workers, args.duration - 2, args.py_spy_dir, scenario.name),
                )
                sampler.start()
            bg_thread, bg_out = None, []
            if scenario.background is not None:
                bg_script = write_script(scenario.background, folder, nonce=7, words=words, threads=threads)
                bg_thread = threading.Thread(
                    target=lambda out, *a: out.append(run_wrk(*a)),
                    args=(bg_out, server.url, bg_script, conns, args.duration, threads, args.timeout),
                )
                bg_thread.start()
            wrk_run = run_wrk(server.url, script, conns, args.duration, threads, args.timeout)
            if bg_thread is not None:
                bg_thread.join()
                wrk_run["background"] = {"scenario": scenario.background.name, **bg_out[0]}
            if sampler is not None:
                sampler.join()
                profiles[scenario.name] = summarise_profile(found)
            row = {"scenario": scenario.name, **wrk_run, "first_request_ms": cold_ms}
            if wrk_run["requests"] == 0:  # nothing answered within the run: count it, never report 0 errors
                row["errors"] = max(1, row["errors"])
                row["error_kinds"] = {**row["error_kinds"], "no_response_in_run": 1}
            if scenario.stride and wrk_run["requests"] > len(scenario.requests):
                row["reused_requests"] = wrk_run["requests"] - len(scenario.requests)
            rows.append(row)
            print(
                f"  {scenario.name:<19} c={conns:<3} {row['rps']:>8.1f} req/s  p50 {row['p50_ms']:>7.1f} ms  "
                f"p99 {row['p99_ms']:>7.1f} ms  errors {row['errors']}  load {row['load_avg_1m'][1]}",
                flush=True,
            )
    return rows


def inprocess_search(home: Path, fx: Fixtures, seconds: float) -> dict[str, Any]:
    """The search service called directly (one thread): cached texts, unique texts and filtered texts."""
    os.environ.update(RAISED_LIMITS)
    from moodboard.api.app import build_services
    from moodboard.core.settings import load_settings
    from moodboard.core.sizing import limit_native_threads
    from moodboard.index.attributes import parse_filter
    from moodboard.rank.search import SearchRequest

    limit_native_threads(1)  # one core's worth (BLAS, OpenMP, torch), as one of two workers on two cores gets
    services = build_services(load_settings(home=home))
    service = services.runtime.search
    service.search(SearchRequest(text="warm up", k=5))
    out: dict[str, Any] = {}
    kinds = {
        "search": lambda i: SearchRequest(text=fx.queries[i % len(fx.queries)]),
        "search_unique": lambda i: SearchRequest(
            text=f"{fx.words[i % len(fx.words)]} {fx.words[i * 7 % len(fx.words)]} {900000 + i}"
        ),
        "search_filters": lambda i: SearchRequest(
            text=fx.queries[i % len(fx.queries)], filters=parse_filter(fx.filters[i % len(fx.filters)])
        ),
    }
    for name, make in kinds.items():
        times: list[float] = []
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            req = make(i)
            t0 = time.perf_counter()
            service.search(req).to_json()
            times.append(time.perf_counter() - t0)
            i += 1
        times.sort()
        out[name] = {
            "qps": round(len(times) / sum(times), 1),
            "p50_ms": round(statistics.median(times) * 1000, 2),
            "p99_ms": round(times[int(0.99 * (len(times) - 1))] * 1000, 2),
            "n": len(times),
        }
        print(f"  in-process {name:<15} {out[name]['qps']:>8.1f} q/s  p50 {out[name]['p50_ms']} ms", flush=True)
    services.close()
    return out


def soak(
    server: Server, scenario: Scenario, args: argparse.Namespace, folder: Path, words: list[str]
) -> dict[str, Any]:
    """Text search at 16 connections for `--soak-s` seconds with the server's RSS sampled every 10 s."""
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((round(time.monotonic() - start, 1), round(server.rss_mb(), 1)))
            print(f"  soak t={samples[-1][0]:>6.0f}s rss={samples[-1][1]:.1f} MiB", flush=True)
            stop.wait(10)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    script = write_script(scenario, folder, nonce=99, words=words)
    row = run_wrk(server.url, script, 16, args.soak_s, args.wrk_threads, args.timeout)
    stop.set()
    thread.join()
    warm = [rss for t, rss in samples if t >= min(60.0, args.soak_s / 10)] or [s[1] for s in samples]
    growth = (warm[-1] - warm[0]) / warm[0] if warm and warm[0] > 0 else 0.0
    return {**row, "rss_mb": samples, "rss_growth_after_warmup": round(growth, 4)}


def main() -> None:
    """Build or reuse the home, run the loads and baselines, print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--home", type=Path, default=None, help="Myntra demo home to (build and) reuse")
    ap.add_argument("--limit", type=int, default=0, help="Myntra subset size when building (0 = all 9,583)")
    ap.add_argument("--connections", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10.0, help="wrk request timeout (s): slower counts as error")
    ap.add_argument("--workers", type=int, default=None, help="pass --workers to serve (default: serve's own)")
    ap.add_argument("--scenarios", default="", help="comma list to run a subset (default: all)")
    ap.add_argument("--inprocess-s", type=float, default=5.0, help="seconds per in-process baseline kind")
    ap.add_argument("--soak-s", type=float, default=0.0, help="after the loads, soak text search this long")
    ap.add_argument("--new-sessions", type=int, default=1500, help="fresh sessions opened per assistant_new run")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare FastAPI baseline")
    ap.add_argument("--py-spy", default="search", help="scenarios to profile at 16 connections (with --py-spy-dir)")
    ap.add_argument("--py-spy-dir", type=Path, default=None, help="write py-spy collapsed stacks here")
    ap.add_argument("--src", type=Path, default=None, help="serve this moodboard source tree (before/after runs)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers (finally blocks) when killed
    if args.src:
        SERVER_SRC[0] = args.src.resolve()

    home = args.home or Path(tempfile.mkdtemp(prefix="moodboard-http-load-"))
    built = build_home(home, args.limit, _env(home))
    folder = Path(tempfile.mkdtemp(prefix="http-load-lua-"))
    result: dict[str, Any] = {
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "home": str(home),
        "catalog": built,
        "server_src": str(SERVER_SRC[0]),
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "workers_arg": args.workers,
            "wrk_threads": args.wrk_threads,
            "rate_limit": "raised out of the way (benchmark only)",
        },
    }
    print(f"home {home}: {built}", flush=True)
    if not args.no_bare:
        print("baseline: bare FastAPI /healthz", flush=True)
        bare = start_bare(home, _free_port(), args.workers, folder / "bare.log")
        try:
            bare_rows = drive(bare, [Scenario("bare_healthz", scenarios(None)["healthz"].requests)], args, folder, [])
        finally:
            bare.stop()
        result["bare"] = bare_rows
    print("moodboard serve", flush=True)
    server = start_moodboard(home, _free_port(), args.workers, folder / "serve.log")
    try:
        wanted = [s for s in args.scenarios.split(",") if s]
        follow = 128 if not wanted or "assistant_followup" in wanted else 0
        fx = make_fixtures(server.url, args.new_sessions, follow)
        table = scenarios(fx)
        wanted = wanted or list(table)
        result["runs"] = drive(server, [table[n] for n in wanted], args, folder, fx.words)
        result["server_rss_mb"] = round(server.rss_mb(), 1)
        result["server_processes"] = len(server.pids())
        if args.soak_s > 0:
            print(f"soak: {args.soak_s:.0f}s of text search at 16 connections", flush=True)
            result["soak"] = soak(server, table["search"], args, folder, fx.words)
    finally:
        server.stop()
    if profiles:
        result["profiles"] = profiles
    print("baseline: in-process search service", flush=True)
    result["inprocess"] = inprocess_search(home, fx, args.inprocess_s)
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result.update(summarise(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in summarise(result)}, indent=2))


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The acceptance keys (16 connections) and every figure's ratio to its same-run baseline."""
    at16 = {r["scenario"]: r for r in result.get("runs", []) if r["connections"] == 16}
    bare16 = next((r for r in result.get("bare", []) if r["connections"] == 16), None)
    inproc = result.get("inprocess", {})

    def get(name: str, key: str) -> float | None:
        return at16[name][key] if name in at16 else None

    ratios: dict[str, Any] = {}
    for r in result.get("runs", []):
        base = None
        if r["scenario"] == "healthz":
            base = next((b["rps"] for b in result.get("bare", []) if b["connections"] == r["connections"]), None)
        elif r["scenario"] in inproc:
            base = inproc[r["scenario"]]["qps"]
        if base:
            ratios[f"{r['scenario']}@{r['connections']}"] = round(r["rps"] / base, 3)
    return {
        "search_rps": get("search", "rps"),
        "search_p99_ms": get("search", "p99_ms"),
        "search_unique_rps": get("search_unique", "rps"),
        "search_filters_rps": get("search_filters", "rps"),
        "healthz_rps": get("healthz", "rps"),
        "healthz_ratio_vs_bare": round(at16["healthz"]["rps"] / bare16["rps"], 3)
        if "healthz" in at16 and bare16
        else None,
        "assistant_turns_per_s": get("assistant_followup", "rps"),
        "assistant_p99_ms": get("assistant_followup", "p99_ms"),
        "assistant_new_turns_per_s": get("assistant_new", "rps"),
        "image_search_rps": get("image_search", "rps"),
        "search_during_images_rps": get("search_during_images", "rps"),
        "search_during_images_p99_ms": get("search_during_images", "p99_ms"),
        "feed_rps": get("feed", "rps"),
        "related_rps": get("related", "rps"),
        "errors": sum(r["errors"] for r in at16.values()),
        "errors_all_runs": sum(r["errors"] for r in result.get("runs", [])),
        "ratio_vs_baseline": ratios,
    }


if __name__ == "__main__":
    main()
