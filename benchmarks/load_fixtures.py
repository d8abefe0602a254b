"""The home, the request fixtures and the scenarios of `http_load.py`.

The benchmark may know the Myntra catalog's words (benchmarks are not `src/`): the text queries and the
filter categories below are ordinary Myntra searches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from wrk_runner import Req, Scenario

ROOT = Path(__file__).resolve().parents[1]

QUERIES = [
    "blue denim jeans",
    "red dress",
    "white sneakers",
    "black leather handbag",
    "men formal shirt",
    "floral kurta",
    "sports shoes for running",
    "gold watch",
    "green t-shirt",
    "brown leather belt",
    "summer sandals",
    "women tops pink",
]
WORDS = [
    "blue", "red", "black", "white", "green", "pink", "grey", "navy", "brown", "yellow", "purple", "maroon",
    "shirt", "dress", "jeans", "kurta", "sneakers", "watch", "handbag", "belt", "sandals", "tshirt", "top",
    "heels", "shorts", "saree", "jacket", "cap", "wallet", "sunglasses", "socks", "skirt", "trousers",
]  # fmt: skip
FILTERS: list[dict[str, Any]] = [
    {"price_max": 2000},
    {"price_max": 1500, "category": "Tshirts"},
    {"price_min": 500, "category": "Shirts"},
    {"category": ["Casual Shoes", "Sports Shoes"]},
]
FOLLOW_UPS = ["in blue", "under 1500", "something more formal", "show me black ones", "cheaper please"]
FIRST_TURNS = ["show me summer dresses", "I need running shoes", "a watch for my dad", "casual shirts for work"]
PHOTO_DIR = "clothing-small/validation"


def _data_dir() -> Path | None:
    for cand in (os.environ.get("MOODBOARD_DATA_DIR"), Path(__file__).resolve().parents[1] / "../shared/data"):
        if cand and (Path(cand) / "myntra" / "catalog.jsonl").is_file():
            return Path(cand).resolve()
    return None


def build_home(home: Path, limit: int, env: dict[str, str]) -> dict[str, Any]:
    """Reuse `home` when its index and graph snapshots exist, else build it like `make demo` (no serve)."""
    ready = all((home / "snapshots" / kind / "CURRENT").exists() for kind in ("index", "graph"))
    if not ready:
        data = _data_dir()
        if data is None:
            raise SystemExit("the Myntra data set is needed: set MOODBOARD_DATA_DIR (see ../shared/data)")
        print(f"building the demo home in {home} (moodboard demo --no-serve, limit={limit or 'all'})", flush=True)
        cmd = [sys.executable, "-m", "moodboard.cli.main", "--home", str(home), "demo", "--no-serve"]
        if limit:
            cmd += ["--limit", str(limit)]
        myntra = {  # what scripts/demo.sh passes by default (the CLI alone would build its generated catalog)
            "MOODBOARD_DEMO_CATALOG": str(data / "myntra" / "catalog.jsonl"),
            "MOODBOARD_DEMO_MAPPING": str(ROOT / "examples" / "catalogs" / "myntra.toml"),
            "MOODBOARD_DEMO_SYNTHETIC_PRICES": "1",
        }
        subprocess.run(cmd, env={**env, "MOODBOARD_DATA_DIR": str(data), **myntra}, check=True)
    import sqlite3

    with sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True) as conn:
        pins = conn.execute("SELECT count(*) FROM pins").fetchone()[0]
    if pins < (limit or 9000) * 0.9:
        raise SystemExit(f"{home} holds {pins} pins, not the Myntra catalog: remove it and run again")
    return {"pins": int(pins), "subset": f"--limit {limit}" if limit else "full Myntra", "reused": ready}


@dataclass
class Fixtures:
    """Everything the scenarios need from the running server."""

    token: str
    pin_ids: list[int]
    queries: list[str] = field(default_factory=lambda: list(QUERIES))
    words: list[str] = field(default_factory=lambda: list(WORDS))
    filters: list[dict[str, Any]] = field(default_factory=lambda: list(FILTERS))
    photos: list[bytes] = field(default_factory=list)
    followup_sessions: list[str] = field(default_factory=list)
    url: str = ""
    new_sessions: int = 1500


def open_sessions(url: str, n: int) -> list[str]:
    """Open `n` empty assistant sessions (4 client threads)."""

    def one(_i: int) -> str:
        with httpx.Client(base_url=url, timeout=60) as c:
            return str(c.post("/assistant/sessions", json={}).raise_for_status().json()["session_id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(n)))


def _photos(n: int = 8) -> list[bytes]:
    data = _data_dir()
    root = data / PHOTO_DIR if data else None
    if root is None or not root.is_dir():
        root = data / "myntra" / "images" if data else None
    if root is None:
        return []
    files = sorted(p for p in root.rglob("*.jpg"))
    step = max(1, len(files) // n)
    return [p.read_bytes() for p in files[::step][:n]]


def make_fixtures(url: str, new_sessions: int = 1500, followup_sessions: int = 128) -> Fixtures:
    """Sign in as a persona, pick pins and photos, and open the follow-up conversations (first turn sent)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post("/auth/demo-login", json={"persona": "ava"}).raise_for_status().json()["token"]
        pins = [p["id"] for p in client.get("/pins", params={"limit": 200}).raise_for_status().json()]

    def opened(i: int, sid: str) -> str:
        with httpx.Client(base_url=url, timeout=120) as c:
            msg = FIRST_TURNS[i % len(FIRST_TURNS)]
            c.post(f"/assistant/sessions/{sid}/messages", json={"message": msg}).raise_for_status()
        return sid

    print(f"  opening {followup_sessions} conversations for the follow-up turns", flush=True)
    sessions = open_sessions(url, followup_sessions)
    with ThreadPoolExecutor(4) as pool:
        follow = list(pool.map(opened, range(followup_sessions), sessions))
    return Fixtures(token, pins, photos=_photos(), followup_sessions=follow, url=url, new_sessions=new_sessions)


def _json(path: str, body: Any, headers: dict[str, str] | None = None) -> Req:
    return Req("POST", path, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


def _multipart(photo: bytes, query: dict[str, Any]) -> Req:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="query"\r\n\r\n{json.dumps(query)}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return Req("POST", "/search", {"Content-Type": f"multipart/form-data; boundary={boundary}"}, b"".join(parts))


def scenarios(fx: Fixtures | None) -> dict[str, Scenario]:
    """Every load of the benchmark by name (only `healthz` without fixtures)."""
    out = {"healthz": Scenario("healthz", [Req("GET", "/healthz")])}
    if fx is None:
        return out
    auth = {"Authorization": f"Bearer {fx.token}"}
    unique = (
        "'{\"text\":\"' .. pick(words) .. ' ' .. words[((n * 7) % #words) + 1] .. ' ' .. "
        "tostring(NONCE * 100000000 + tid * 10000000 + n) .. '\"}'"
    )
    out["search"] = Scenario("search", [_json("/search", {"text": q}) for q in fx.queries])
    out["search_unique"] = Scenario("search_unique", [_json("/search", {"text": "x"})], dynamic_body=unique)
    out["search_filters"] = Scenario(
        "search_filters",
        [_json("/search", {"text": q, "filters": fx.filters[i % len(fx.filters)]}) for i, q in enumerate(fx.queries)],
    )
    if fx.photos:
        out["image_search"] = Scenario("image_search", [_multipart(p, {"k": 20}) for p in fx.photos])
        # text searches while as many connections upload photos: the bounded model pool must keep them flowing
        out["search_during_images"] = Scenario(
            "search_during_images", out["search"].requests, background=out["image_search"]
        )

    def fresh_turns() -> list[Req]:
        print(f"  opening {fx.new_sessions} fresh sessions", flush=True)
        return [
            _json(f"/assistant/sessions/{sid}/messages", {"message": FIRST_TURNS[i % len(FIRST_TURNS)]})
            for i, sid in enumerate(open_sessions(fx.url, fx.new_sessions))
        ]

    out["assistant_new"] = Scenario("assistant_new", [], fresh=fresh_turns, stride=True)
    out["assistant_followup"] = Scenario(
        "assistant_followup",
        [
            _json(f"/assistant/sessions/{sid}/messages", {"message": FOLLOW_UPS[i % len(FOLLOW_UPS)]})
            for i, sid in enumerate(fx.followup_sessions)
        ],
    )
    out["feed"] = Scenario("feed", [Req("GET", "/me/feed", auth)])
    out["related"] = Scenario("related", [Req("GET", f"/pins/{p}/related") for p in fx.pin_ids[:100]])
    return out
