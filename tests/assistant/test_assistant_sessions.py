"""Session store: atomic JSON files, ids, images, feedback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodboard.assistant.sessions import MAX_PROFILE, SessionStore
from moodboard.core.errors import InvalidInputError, NotFoundError
from moodboard.core.query import Filters, QueryState


def test_create_save_load_round_trip(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create(user_id=7)
    s.state = QueryState(filters=Filters(price_max=30))
    s.record("save", 12)
    store.save(s)
    loaded = store.load(s.id)
    assert loaded.state == s.state and loaded.profile == {12: 1.0} and loaded.user_id == 7
    assert not list(tmp_path.glob(".tmp-*"))  # no temp file left behind


def test_unknown_and_malformed_ids(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    with pytest.raises(NotFoundError):
        store.load("0" * 32)
    with pytest.raises(NotFoundError):
        store.load("../../etc/passwd")


def test_corrupt_state_is_a_clear_error(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create()
    path = tmp_path / f"{s.id}.json"
    data = json.loads(path.read_text())
    data["state"]["filters"]["price_max"] = -5
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match="state"):
        store.load(s.id)


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create()
    before = (tmp_path / f"{s.id}.json").read_text()
    s.history.append({"bad": object()})  # not JSON-serialisable: the write fails midway
    with pytest.raises(TypeError):
        store.save(s)
    assert (tmp_path / f"{s.id}.json").read_text() == before
    assert not list(tmp_path.glob(".tmp-*"))


def test_images_and_feedback(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    s = store.create()
    digest = store.put_image(s.id, b"abc")
    assert store.get_image(s.id, digest) == b"abc" and store.get_image(s.id, "nope") is None
    for i in range(MAX_PROFILE + 5):
        s.record("click", i)
    assert len(s.profile) == MAX_PROFILE
    s.record("hide", 200)
    assert s.profile[200] < 0
    with pytest.raises(InvalidInputError):
        s.record("like", 1)
