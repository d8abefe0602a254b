"""Cost of the session store on every assistant turn: load + compare-and-swap save in the catalog database.

Each simulated turn loads a session (its state, history and event-derived profile), appends one turn to
the history and saves it with the version check, as `Assistant` does around its work. Conversations
grow to `--turns` turns; the session has had `--feedback` feedback events. Baseline, interleaved turn
by turn in the same run: the store this replaced, a JSON file per session read with `json.load` and
written to a temp file that is renamed over the old one (`os.replace`).

SQLite runs on a temp file (WAL, as `moodboard serve` opens it); PostgreSQL runs too when `--pg-url`
(or MOODBOARD_TEST_PG_URL, set by scripts/services.sh) names a server (a fresh database is made and
dropped).

    python benchmarks/session_store.py --conversations 20 --turns 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from moodboard.catalog.sessions import CatalogSessionStore
from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.core.query import Filters, QueryState, Term, TermKind
from moodboard.core.session import Session

STATE = QueryState(
    positives=(Term(kind=TermKind.TEXT, value="leather jacket", weight=1.0), Term(kind=TermKind.PIN, value=7)),
    filters=Filters(price_max=80, colours=("Black",), categories=("Jackets",)),
    version=3,
)


def _turn(n: int) -> dict[str, Any]:
    return {"message": f"message {n} " + "x" * 40, "turn": {"text": "x" * 60}, "shown": list(range(24)), "at": 0.0}


class JsonFiles:
    """The replaced store's mechanism: one JSON file per session, temp file + rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self) -> str:
        sid = uuid.uuid4().hex
        self.save(Session(id=sid, state=STATE))
        return sid

    def load(self, sid: str) -> Session:
        return Session.from_dict(json.loads((self.root / f"{sid}.json").read_text(encoding="utf-8")))

    def save(self, session: Session) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(session.to_dict(), fh, ensure_ascii=False)
        os.replace(tmp, self.root / f"{session.id}.json")


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def run(url: str, folder: Path, conversations: int, turns: int, feedback: int) -> dict[str, Any]:
    """Time `conversations` x `turns` turns on the database store and on the JSON-file baseline."""
    store = CatalogStore.open(url)
    store.add_pins([NewPin(f"b{i}", f"pin {i}") for i in range(feedback + 1)])
    pins = [p.id for batch in store.iter_pins() for p in batch]
    db = CatalogSessionStore(store)
    files = JsonFiles(folder)
    t_db: list[float] = []
    t_json: list[float] = []
    for c in range(conversations):
        sid = db.create().id
        s = db.load(sid)
        s.state = STATE
        db.save(s)
        for i in range(feedback):
            db.record(sid, pins[i % len(pins)], "click")
        fid = files.create()
        for n in range(turns):
            t0 = time.perf_counter()
            s = db.load(sid)
            s.history.append(_turn(n))
            db.save(s)
            t_db.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            f = files.load(fid)
            f.history.append(_turn(n))
            files.save(f)
            t_json.append(time.perf_counter() - t0)
        print(f"  {c + 1}/{conversations} conversations", file=sys.stderr, flush=True)
    store.close()
    ms = 1000.0
    out = {
        "turns": len(t_db),
        "db_p50_ms": round(statistics.median(t_db) * ms, 3),
        "db_p99_ms": round(_pct(t_db, 0.99) * ms, 3),
        "json_p50_ms": round(statistics.median(t_json) * ms, 3),
        "json_p99_ms": round(_pct(t_json, 0.99) * ms, 3),
    }
    out["p50_ratio_db_over_json"] = round(out["db_p50_ms"] / out["json_p50_ms"], 2)
    return out


def main() -> None:
    """Measure on SQLite (and PostgreSQL when a server is named) and print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--feedback", type=int, default=5, help="feedback events per session (its profile)")
    ap.add_argument("--pg-url", default=os.environ.get("MOODBOARD_TEST_PG_URL", ""))
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("sqlite:", file=sys.stderr)
        results["sqlite"] = run(f"sqlite:///{tmp}/catalog.db", Path(tmp), args.conversations, args.turns, args.feedback)
        if args.pg_url:
            import sqlalchemy as sa

            name = f"mb_bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(
                args.pg_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                print("postgresql:", file=sys.stderr)
                url = args.pg_url.rsplit("/", 1)[0] + "/" + name
                results["postgresql"] = run(url, Path(tmp), args.conversations, args.turns, args.feedback)
            finally:
                with admin.connect() as c:
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
