"""`moodboard train sequence` and `moodboard train ranker` end to end on a generated store (issue 14)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from moodboard.catalog.store import CatalogStore, NewPin
from moodboard.cli import main as cli_main
from moodboard.core.records import Event, EventType
from moodboard.core.settings import load_settings
from moodboard.rank.ranker import current_ranker
from moodboard.rank.sequence_source import current_sequence_source

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(home: Path) -> dict[str, int]:
    """12 pins in two categories; 24 users, each taking 5 steps round a cycle of one category's 6 pins."""
    settings = load_settings(home=home)
    settings.ensure_home()
    store = CatalogStore.open(settings.database_url)
    store.add_pins(
        [NewPin(f"a{i}", f"a {i}", category="alpha", price=Decimal(10 + i)) for i in range(6)]
        + [NewPin(f"b{i}", f"b {i}", category="beta", price=Decimal(200 + i)) for i in range(6)]
    )
    ids = {p.external_id: p.id for batch in store.iter_pins() for p in batch}
    events = []
    rng = np.random.default_rng(0)
    for u in range(24):
        user = store.ensure_user(f"u{u}").id
        side, start = "ab"[u % 2], int(rng.integers(6))
        for step in range(5):
            pin = ids[f"{side}{(start + step) % 6}"]
            events.append(Event(user, pin, EventType.SAVE, T0 + timedelta(minutes=step)))
    store.add_events(events)
    store.close()
    return ids


def store_user_id(home: Path, external_id: str) -> int:
    """The store's id of a user."""
    store = CatalogStore.open(load_settings(home=home).database_url)
    try:
        found = store.find_user(external_id)
        assert found is not None
        return found.id
    finally:
        store.close()


def test_train_sequence_then_ranker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = seed(home)
    cli_main.build_app()
    env = {"MOODBOARD_HOME": str(home), "MOODBOARD_SEQUENCE__D_MODEL": "16", "MOODBOARD_SEQUENCE__MAX_LEN": "8"}
    runner = CliRunner()
    res = runner.invoke(cli_main.app, ["train", "sequence", "--epochs", "10", "--json"], env=env)
    assert res.exit_code == 0, (res.output, res.exception)
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["users"] == 24 and out["items"] == 12 and out["events"] == 24 * 5
    snapshots = home / "snapshots"
    source = current_sequence_source(snapshots)
    assert source is not None
    user = store_user_id(home, "u0")
    cands = source.candidates(user, 10)
    seen = set(source._hist[user])
    assert len(seen) == 5 and len(cands) == 7  # 12 pins, 5 already engaged with
    assert {c.pin_id for c in cands}.isdisjoint({int(source.pin_ids[r]) for r in seen})
    res = runner.invoke(cli_main.app, ["train", "ranker", "--json"], env=env)
    assert res.exit_code == 0, (res.output, res.exception)
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["requests"] == 24 and out["rows"] > 24
    ranker = current_ranker(snapshots)
    assert ranker is not None and "sequence_score" in ranker.feature_names
    assert len(ids) == 12


def test_train_ranker_without_sequence_snapshot_says_what_to_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seed(home)
    cli_main.build_app()
    res = CliRunner().invoke(cli_main.app, ["train", "ranker"], env={"MOODBOARD_HOME": str(home)})
    assert res.exit_code != 0
    assert "train sequence" in str(res.exception) or "train sequence" in res.output
