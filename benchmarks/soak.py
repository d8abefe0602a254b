"""Soak: `moodboard serve` under mixed traffic from many distinct clients and sessions for a long time, with
`moodboard index` rebuilding the index in the middle; errors, memory growth and the swap's longest wait.

Home: the Myntra demo home of `benchmarks/http_load.py` (built like `make demo`, or reused with `--home`).
Server: `moodboard serve` with its defaults (workers, logging), the rate limit raised out of the way as in
http_load (every client is on loopback, so one address), and assistant sessions that expire after
`--session-ttl-s` idle (swept every minute), so expiry and cleanup run during the soak. `--src` serves a
frozen copy of the source (an edit to the working tree must not reach a running server or the job).

Traffic is paced at `--rate` requests/s over `--clients` threads (open loop: a slow answer does not slow
the schedule down). The mix: text search (random catalog words and a number, so most texts are new),
search with filters, photo search (people's photos, each randomly cropped, so each is a new photo),
related pins, the feeds and engagement events of `--shoppers` distinct signed-in shoppers (each with its
own token, so its own rate-limit bucket), health probes, and conversations: each visitor (anonymous, or
one of the shoppers) opens a fresh session, sends 2-5 turns, and a third of them delete their session at
the end (the others are left to expire). At most `--open-visitors` conversations are open at once.
Half-way through, `moodboard index` rebuilds the index on the same home while the traffic goes on; the
server must swap the new snapshot in without failing or stalling a request.

Reported (`--json OUT`): `errors` (5xx, connection errors and timeouts; 4xx are counted apart, the mix
sends none on purpose), `rss_growth` (server RSS, all processes, median of the last 3 samples against the
median of the first 3 after warm-up; sampled every 10 s), `swap_gap_ms` (the longest request that ran
while the index job ran and for 10 s after it), `max_ms_outside_swap`, per-kind p50/p99 and counts, the
sessions opened and still stored at the end, and the load average at the start and the end.

    python benchmarks/soak.py --home /work/speed-home --duration-s 1800 --rate 40 --json /tmp/soak.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load
from http_load import _env, _free_port, start_moodboard
from load_fixtures import FILTERS, FIRST_TURNS, FOLLOW_UPS, PHOTO_DIR, WORDS, _data_dir, build_home

SWAP_TAIL_S = 10.0


@dataclass
class Record:
    """What happened to one request."""

    kind: str
    start: float
    ms: float
    status: int


@dataclass
class Log:
    """Every request's record, thread-safe."""

    records: list[Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rec: Record) -> None:
        """Append one record."""
        with self.lock:
            self.records.append(rec)


class Photos:
    """People's photos from the shared data, each request a new random crop (a photo never seen before)."""

    def __init__(self, n: int, seed: int) -> None:
        """Load `n` photos (none when the data set is missing: the mix then sends no photo search)."""
        data = _data_dir()
        root = data / PHOTO_DIR if data else None
        files = sorted(root.rglob("*.jpg")) if root is not None and root.is_dir() else []
        self.raw = [f.read_bytes() for f in files[:: max(1, len(files) // max(n, 1))][:n]]
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def next(self) -> bytes:
        """A random crop of a random photo, as JPEG bytes."""
        from PIL import Image

        with self.lock:
            raw = self.rng.choice(self.raw)
            fx, fy, fw = self.rng.random() * 0.2, self.rng.random() * 0.2, 0.7 + self.rng.random() * 0.1
        img = Image.open(io.BytesIO(raw)).convert("RGB")
        w, h = img.size
        box = (int(fx * w), int(fy * h), int((fx + fw) * w), int((fy + fw) * h))
        out = io.BytesIO()
        img.crop(box).save(out, "JPEG", quality=85)
        return out.getvalue()


class Traffic:
    """The request mix; `next()` gives the next (kind, request) to run."""

    def __init__(self, tokens: list[str], pins: list[int], photos: Photos, seed: int, max_open: int) -> None:
        """Bind the shoppers' tokens, some pin ids and the photos."""
        self.tokens = tokens
        self.pins = pins
        self.photos = photos
        self.max_open = max_open
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.visitors: list[list[Any]] = []  # open conversations: [session id, token or None, turns...]
        self.opened_sessions = 0

    def next(self) -> tuple[str, Any]:
        """Pick the next request by the mix's shares."""
        with self.lock:
            r = self.rng.random()
            words = " ".join(self.rng.sample(WORDS, 2))
            token = self.rng.choice(self.tokens)
            if r < 0.30:
                return "search", ("POST", "/search", {"text": f"{words} {self.rng.randint(0, 99)}"}, None)
            if r < 0.38:
                body = {"text": words, "filters": self.rng.choice(FILTERS)}
                return "search_filters", ("POST", "/search", body, None)
            if r < 0.41 and self.photos.raw:
                return "photo_search", ("PHOTO", "/search", {"k": 20}, None)
            if r < 0.50:
                return "related", ("GET", f"/pins/{self.rng.choice(self.pins)}/related", None, None)
            if r < 0.57:
                return "feed", ("GET", "/me/feed", None, token)
            if r < 0.62:
                kind = self.rng.choice(["view", "view", "click", "save"])
                body = {"events": [{"pin_id": self.rng.choice(self.pins), "type": kind}]}
                return "event", ("POST", "/events", body, token)
            if r < 0.65:
                return "healthz", ("GET", "/healthz", None, None)
            return "assistant", self._turn(token)

    def _turn(self, token: str) -> Any:
        """A turn of an open conversation, or the first turn of a new visitor's session (opened then)."""
        if self.visitors and (len(self.visitors) >= self.max_open or self.rng.random() < 0.7):
            visitor = self.rng.choice(self.visitors)
            sid, owner, turns = visitor[0], visitor[1], visitor[2:]
            if not turns:
                self.visitors.remove(visitor)
                if self.rng.random() < 1 / 3:
                    return ("DELETE", f"/assistant/sessions/{sid}", None, owner)
                return ("GET", f"/assistant/sessions/{sid}", None, owner)
            visitor.pop(2)
            return ("POST", f"/assistant/sessions/{sid}/messages", {"message": turns[0]}, owner)
        owner = token if self.rng.random() < 0.5 else None  # half the visitors are signed-in shoppers
        return ("NEW", "", {"message": self.rng.choice(FIRST_TURNS)}, owner)

    def opened(self, sid: str, owner: str | None) -> None:
        """Remember a new visitor's session and the follow-ups they will send."""
        with self.lock:
            self.opened_sessions += 1
            turns = self.rng.sample(FOLLOW_UPS, self.rng.randint(1, min(4, len(FOLLOW_UPS))))
            self.visitors.append([sid, owner, *turns])


def _send(client: httpx.Client, traffic: Traffic, spec: Any) -> int:
    method, path, body, token = spec
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "NEW":
        r = client.post("/assistant/sessions", json={}, headers=headers)
        if r.status_code != 201:
            return r.status_code
        sid = r.json()["session_id"]
        r = client.post(f"/assistant/sessions/{sid}/messages", json=body, headers=headers)
        if r.status_code == 200:
            traffic.opened(sid, token)
        return r.status_code
    if method == "PHOTO":
        files = {"image": ("photo.jpg", traffic.photos.next(), "image/jpeg")}
        return client.post(path, files=files, data={"query": json.dumps(body)}).status_code
    r = client.request(method, path, json=body, headers=headers)
    return r.status_code


def drive(url: str, traffic: Traffic, log: Log, rate: float, clients: int, stop: threading.Event, t0: float) -> None:
    """Run the paced open-loop schedule (from `t0`) on `clients` threads until `stop` is set."""
    slot = [0]
    slot_lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not stop.is_set():
                with slot_lock:
                    n = slot[0]
                    slot[0] += 1
                due = t0 + n / rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                kind, spec = traffic.next()
                start = time.monotonic()
                try:
                    status = _send(client, traffic, spec)
                except httpx.HTTPError:
                    status = 0
                log.add(Record(kind, start - t0, (time.monotonic() - start) * 1000, status))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def summarise(log: Log, rss: list[tuple[float, float]], swap: tuple[float, float] | None, warmup_s: float) -> dict:
    """The report: errors, RSS growth, the swap's longest request, per-kind latency."""
    recs = log.records
    errors = [r for r in recs if r.status == 0 or r.status >= 500]
    client_errors = [r for r in recs if 400 <= r.status < 500]
    kinds: dict[str, dict[str, Any]] = {}
    for kind in sorted({r.kind for r in recs}):
        ms = [r.ms for r in recs if r.kind == kind]
        kinds[kind] = {"n": len(ms), "p50_ms": _pct(ms, 0.5), "p99_ms": _pct(ms, 0.99), "max_ms": _pct(ms, 1.0)}
    after = [m for t, m in rss if t >= warmup_s]
    growth = None
    if len(after) >= 6:
        base = statistics.median(after[:3])
        growth = round((statistics.median(after[-3:]) - base) / base, 4)
    swap_gap = outside = None
    if swap is not None:
        lo, hi = swap[0], swap[1] + SWAP_TAIL_S
        inside = [r.ms for r in recs if lo <= r.start <= hi and r.kind != "assistant"]
        rest = [r.ms for r in recs if not lo <= r.start <= hi and r.kind != "assistant"]
        swap_gap, outside = (round(max(inside), 1) if inside else None), (round(max(rest), 1) if rest else None)
    duration = max((r.start for r in recs), default=0.0)
    return {
        "requests": len(recs),
        "achieved_rps": round(len(recs) / max(duration, 1e-9), 1),
        "errors": len(errors),
        "client_errors_4xx": len(client_errors),
        "error_samples": [{"kind": r.kind, "status": r.status, "t_s": round(r.start, 1)} for r in errors[:10]],
        "client_error_samples": [
            {"kind": r.kind, "status": r.status, "t_s": round(r.start, 1)} for r in client_errors[:10]
        ],
        "rss_growth": growth,
        "rss_mb": [[round(t), round(m, 1)] for t, m in rss],
        "swap_gap_ms": swap_gap,
        "max_ms_outside_swap": outside,
        "swap_window_s": [round(swap[0], 1), round(swap[1], 1)] if swap else None,
        "kinds": kinds,
    }


def _stored_sessions(home: Path) -> int | None:
    """Assistant sessions still in the home's catalog database (None when it is not SQLite)."""
    db = home / "catalog.db"
    if not db.is_file():
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM assistant_sessions").fetchone()[0])


def main() -> None:
    """Build or reuse the home, serve it, drive the mix, rebuild the index half-way, report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--home", type=Path, default=Path("/tmp/moodboard-soak-home"))
    ap.add_argument("--limit", type=int, default=0, help="Myntra subset size when building (0 = all)")
    ap.add_argument("--duration-s", type=float, default=1800)
    ap.add_argument("--rate", type=float, default=40, help="requests per second (open loop)")
    ap.add_argument("--clients", type=int, default=16, help="client threads")
    ap.add_argument("--warmup-s", type=float, default=120)
    ap.add_argument("--no-swap", action="store_true", help="skip the index rebuild half-way")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shoppers", type=int, default=500, help="distinct signed-in shoppers (tokens)")
    ap.add_argument("--open-visitors", type=int, default=200, help="conversations open at once, at most")
    ap.add_argument("--photos", type=int, default=64, help="people's photos to crop for photo searches")
    ap.add_argument("--session-ttl-s", type=float, default=600, help="idle assistant sessions expire after this")
    ap.add_argument(
        "--src",
        type=Path,
        help="serve this moodboard source tree (a frozen copy: edits to src/ must not reach a running server)",
    )
    args = ap.parse_args()
    if args.src:
        http_load.SERVER_SRC[0] = args.src.resolve()
    # sessions expire during the soak, so the expiry and the sweep run under load too (server and job inherit it)
    os.environ["MOODBOARD_ASSISTANT__SESSION_TTL_S"] = str(args.session_ttl_s)
    os.environ["MOODBOARD_ASSISTANT__SESSION_SWEEP_S"] = "60"
    env = _env(args.home)
    home_info = build_home(args.home, args.limit, env)
    load_start = [round(x, 2) for x in os.getloadavg()]
    port = _free_port()
    server = start_moodboard(args.home, port, None, args.home.parent / "soak-server.log")
    url = server.url
    try:
        with httpx.Client(base_url=url, timeout=60) as c:  # dev mode: the token route is open
            tokens = [
                c.post("/auth/token", json={"user": f"soak-shopper-{i}"}).raise_for_status().json()["token"]
                for i in range(args.shoppers)
            ]
            pins = [p["id"] for p in c.get("/pins", params={"limit": 200}).raise_for_status().json()]
        photos = Photos(args.photos, args.seed)
        traffic = Traffic(tokens, pins, photos, args.seed, args.open_visitors)
        log, stop = Log(), threading.Event()
        t0 = time.monotonic()
        loader = threading.Thread(
            target=drive, args=(url, traffic, log, args.rate, args.clients, stop, t0), daemon=True
        )
        loader.start()
        rss: list[tuple[float, float]] = []
        swap: tuple[float, float] | None = None
        job: subprocess.Popen[bytes] | None = None
        job_start = 0.0
        next_sample = 0.0
        while (elapsed := time.monotonic() - t0) < args.duration_s:
            if elapsed >= next_sample:
                rss.append((elapsed, server.rss_mb()))
                done = sum(1 for r in log.records)
                bad = sum(1 for r in log.records if r.status == 0 or r.status >= 500)
                print(f"  {elapsed:6.0f}s  {done:7d} requests  {bad} errors  rss {rss[-1][1]:.0f} MiB", flush=True)
                next_sample += 10
            if not args.no_swap and job is None and swap is None and elapsed >= args.duration_s / 2:
                print("  rebuilding the index (moodboard index) while serving", flush=True)
                cmd = [sys.executable, "-m", "moodboard.cli.main", "--home", str(args.home), "index"]
                job_log = (args.home.parent / "soak-index.log").open("wb")
                job, job_start = subprocess.Popen(cmd, env=env, stdout=job_log, stderr=subprocess.STDOUT), elapsed
            if job is not None and job.poll() is not None:
                if job.returncode != 0:
                    raise SystemExit(f"moodboard index failed ({job.returncode}); see soak-index.log")
                swap, job = (job_start, elapsed), None
                print(f"  index rebuilt in {elapsed - job_start:.0f}s", flush=True)
            time.sleep(0.5)
        stop.set()
        loader.join(timeout=60)
    finally:
        server.stop()
    out = summarise(log, rss, swap, args.warmup_s)
    out.update(
        {
            "duration_s": args.duration_s,
            "rate": args.rate,
            "clients": args.clients,
            "shoppers": args.shoppers,
            "sessions_opened": traffic.opened_sessions,
            "sessions_stored_end": _stored_sessions(args.home),
            "session_ttl_s": args.session_ttl_s,
            "home": home_info,
            "server_src": str(http_load.SERVER_SRC[0]),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "node": platform.node()},
            "load_avg_start": load_start,
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
            "command": " ".join(sys.argv),
        }
    )
    args.json.write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("rss_mb", "kinds")}, indent=2))


if __name__ == "__main__":
    main()
