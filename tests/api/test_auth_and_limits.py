"""Auth (401/403), IDOR across two shoppers on every private route, rate limits, metrics and events."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from moodboard.api.app import create_app
from moodboard.core.records import Event
from moodboard.core.settings import Settings, load_settings
from tests.api.conftest import OPERATOR_KEY

Headers = Callable[[str], dict[str, str]]


def test_operator_routes_need_a_valid_key(secure_client: TestClient) -> None:
    assert secure_client.post("/auth/token", json={"user": "x"}).status_code == 401
    wrong = secure_client.post("/auth/token", json={"user": "x"}, headers={"X-API-Key": "nope" * 5})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    ok = secure_client.post("/auth/token", json={"user": "x"}, headers={"X-API-Key": OPERATOR_KEY})
    assert ok.status_code == 200 and ok.json()["user"]["external_id"] == "x"


def test_shopper_cannot_use_operator_routes(secure_client: TestClient, shopper_headers: Headers) -> None:
    r = secure_client.post("/auth/token", json={"user": "y"}, headers=shopper_headers("alice"))
    assert r.status_code == 403


def test_private_routes_need_a_token_and_reject_forgeries(secure_client: TestClient, shopper_headers: Headers) -> None:
    assert secure_client.get("/me/boards").status_code == 401
    good = shopper_headers("alice")["Authorization"]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    r = secure_client.get("/me/boards", headers={"Authorization": forged})
    assert r.status_code == 401 and r.json()["hint"]


def test_demo_login_is_off_outside_dev_mode(secure_client: TestClient) -> None:
    assert secure_client.post("/auth/demo-login", json={"persona": "ava"}).status_code == 403
    assert secure_client.get("/personas").json() == []


def test_idor_two_shoppers_cannot_touch_each_others_data(secure_client: TestClient, shopper_headers: Headers) -> None:
    alice, bob = shopper_headers("alice"), shopper_headers("bob")
    board = secure_client.post("/me/boards", json={"name": "Alice's"}, headers=alice).json()
    pin_id = secure_client.get("/pins", params={"limit": 1}).json()[0]["id"]
    assert secure_client.post(f"/boards/{board['id']}/pins", json={"pin_id": pin_id}, headers=alice).status_code == 200
    bid = board["id"]
    # bob: read, add, remove, list: nothing of alice's is visible or changeable
    assert secure_client.get(f"/boards/{bid}", headers=bob).status_code == 404
    assert secure_client.post(f"/boards/{bid}/pins", json={"pin_id": pin_id}, headers=bob).status_code == 404
    assert secure_client.delete(f"/boards/{bid}/pins/{pin_id}", headers=bob).status_code == 404
    assert secure_client.get("/me/boards", headers=bob).json() == []
    assert secure_client.get("/me/history", headers=bob).json() == []
    # bob cannot write events as alice either
    r = secure_client.post(
        "/events", json={"events": [{"pin_id": pin_id, "type": "hide", "user": "alice"}]}, headers=bob
    )
    assert r.status_code == 422
    # alice still has everything
    mine = secure_client.get(f"/boards/{bid}", headers=alice).json()
    assert [p["id"] for p in mine["pins"]] == [pin_id]
    assert [h["type"] for h in secure_client.get("/me/history", headers=alice).json()] == ["save"]
    # the operator may act for anyone
    assert secure_client.get(f"/boards/{bid}", headers={"X-API-Key": OPERATOR_KEY}).status_code == 200


def test_events_are_stored_and_published(secure_client: TestClient, shopper_headers: Headers) -> None:
    services = secure_client.app.state.services  # type: ignore[attr-defined]
    heard: list[Event] = []
    services.on_events(heard.extend)
    pin_id = secure_client.get("/pins", params={"limit": 1}).json()[0]["id"]
    r = secure_client.post(
        "/events", json={"events": [{"pin_id": pin_id, "type": "click"}, {"pin_id": pin_id, "type": "hide"}]},
        headers=shopper_headers("carol"),
    )  # fmt: skip
    assert r.status_code == 202 and r.json()["stored"] == 2 and len(heard) == 2
    # the published events carry the ids they were stored under (so the taste graph applies each once)
    assert [e.id for e in heard] == r.json()["ids"] and all(isinstance(i, int) for i in r.json()["ids"])
    bad = secure_client.post(
        "/events", json={"events": [{"pin_id": 999999, "type": "click"}]}, headers=shopper_headers("c")
    )
    assert bad.status_code == 404
    assert secure_client.post("/events", json={"events": [{"pin_id": pin_id, "type": "like"}]}).status_code == 422
    assert secure_client.post("/events", json={"events": [{"pin_id": pin_id, "type": "click"}]}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(tmp_path: object) -> None:
    settings = load_settings(home=str(tmp_path) + "/h", api={"rate_limit_per_minute": 6, "rate_limit_burst": 3})
    client = TestClient(create_app(settings))
    codes = [client.get("/pins").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    r = client.get("/pins")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["status"] == 429 and "retry after" in r.json()["hint"]
    assert client.get("/healthz").status_code == 200  # health checks are never limited


def test_metrics_expose_latency_histograms_and_sizes(secure_client: TestClient) -> None:
    secure_client.get("/pins")
    text = secure_client.get("/metrics").text
    assert 'moodboard_request_seconds_bucket{le="0.005",method="GET",route="/pins",status="200"}' in text
    assert "moodboard_catalog_pins 18.0" in text


def test_unsafe_settings_refuse_to_start(tmp_path: object) -> None:
    import pytest

    from moodboard.core.errors import ConfigError

    with pytest.raises(ConfigError, match="dev mode"):
        load_settings(home=str(tmp_path), api={"host": "0.0.0.0"})
    with pytest.raises(ConfigError, match="api_keys"):
        load_settings(home=str(tmp_path), api={"dev_mode": False, "secret_key": "x" * 40})
    with pytest.raises(ConfigError, match="secret_key"):
        load_settings(home=str(tmp_path), api={"dev_mode": False, "api_keys": ["k" * 20]})


def test_dev_mode_personas_and_demo_login(settings: Settings) -> None:
    from moodboard.catalog.personas import seed_personas

    app = create_app(settings)
    client = TestClient(app)
    store = app.state.services.store
    from moodboard.catalog.store import NewPin

    store.add_pins([NewPin(f"x{i}", f"pin {i}", category=c) for i, c in enumerate(["Heels", "Watches", "Shirts"] * 10)])
    seed_personas(store)
    names = [p["external_id"] for p in client.get("/personas").json()]
    assert names == ["ava", "leo", "sam"]
    liked = []
    for persona in names:  # each persona likes its own share of the catalog's categories
        token = client.post("/auth/demo-login", json={"persona": persona}).json()["token"]
        boards = client.get("/me/boards", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(boards) == 1
        liked.append({p["category"] for p in boards[0]["pins"]})
    assert all(len(c) == 1 for c in liked) and len(set.union(*liked)) == 3
    assert client.post("/auth/demo-login", json={"persona": "mallory"}).status_code == 404


def test_idor_assistant_sessions_belong_to_their_shopper(secure_client: TestClient, shopper_headers: Headers) -> None:
    alice, bob = shopper_headers("alice"), shopper_headers("bob")
    alice_id = secure_client.get("/me", headers=alice).json()["id"]
    created = secure_client.post("/assistant/sessions", json={}, headers=alice)
    assert created.status_code == 201 and created.json()["user_id"] == alice_id
    sid = created.json()["session_id"]
    assert (
        secure_client.post(f"/assistant/sessions/{sid}/messages", json={"message": "red"}, headers=alice).status_code
        == 200
    )
    # bob (and an anonymous caller) can neither read, continue, give feedback on nor delete it
    for headers in (bob, {}):
        assert secure_client.get(f"/assistant/sessions/{sid}", headers=headers).status_code == 404
        r = secure_client.post(f"/assistant/sessions/{sid}/messages", json={"message": "blue"}, headers=headers)
        assert r.status_code == 404
        fb = secure_client.post(
            f"/assistant/sessions/{sid}/feedback", json={"pin_id": 1, "kind": "save"}, headers=headers
        )
        assert fb.status_code == 404
        assert secure_client.delete(f"/assistant/sessions/{sid}", headers=headers).status_code == 404
    # bob cannot open a session personalised as alice
    assert secure_client.post("/assistant/sessions", json={"user_id": alice_id}, headers=bob).status_code == 404
    history = secure_client.get(f"/assistant/sessions/{sid}", headers=alice).json()
    assert [t["message"] for t in history["history"]] == ["red"]


def test_idor_feeds_and_related_with_user_filters(secure_client: TestClient, shopper_headers: Headers) -> None:
    alice, bob = shopper_headers("alice"), shopper_headers("bob")
    alice_id = secure_client.get("/me", headers=alice).json()["id"]
    assert secure_client.get(f"/users/{alice_id}/feed", headers=bob).status_code in (403, 404)
    pin_id = secure_client.get("/pins", params={"limit": 1}).json()[0]["id"]
    r = secure_client.get(f"/pins/{pin_id}/related", params={"user_id": alice_id}, headers=bob)
    assert r.status_code in (403, 404)


def test_upload_size_and_pixel_limits(secure_client: TestClient, shopper_headers: Headers, tmp_path: object) -> None:
    """Uploads over api.max_upload_bytes or api.max_upload_pixels are refused with a reason, on search and chat."""
    import io

    from PIL import Image

    big_file = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(big_file, "PNG")  # ~ 300 kB > 200 kB
    assert big_file.tell() > 200_000
    many_pixels = io.BytesIO()
    Image.new("RGB", (1200, 1000), (200, 30, 30)).save(many_pixels, "PNG")  # 1.2 Mpx > 1 Mpx, tiny file
    sid = secure_client.post("/assistant/sessions", json={}, headers=shopper_headers("u")).json()["session_id"]
    for data, words, status in ((big_file.getvalue(), "bytes", 413), (many_pixels.getvalue(), "pixel", 422)):
        files = {"image": ("x.png", data, "image/png")}
        search = secure_client.post("/search", files=files)
        assert search.status_code == status, search.text
        assert words in search.json()["detail"].lower() and search.json()["hint"]
        chat = secure_client.post(
            f"/assistant/sessions/{sid}/messages",
            data={"message": "like this"},
            files=files,
            headers=shopper_headers("u"),
        )
        assert chat.status_code == status and words in chat.json()["detail"].lower(), chat.text
