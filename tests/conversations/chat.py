"""A small driver for scripted conversations through the HTTP API, with checks on the shown pins'
catalog fields (category path, colours, price, attributes), read from the store and split by the
served index's own catalog profile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.testclient import TestClient

from moodboard.core.query import QueryState
from moodboard.core.records import Pin


class Chat:
    """One session: send messages, keep the last reply, look up the shown pins for assertions."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        r = client.post("/assistant/sessions", json={})
        assert r.status_code == 201, r.text
        self.id: str = r.json()["session_id"]
        self.reply: dict[str, Any] = {}

    def say(self, message: str, image: bytes | None = None, status: int = 200) -> dict[str, Any]:
        url = f"/assistant/sessions/{self.id}/messages"
        if image is None:
            r = self.client.post(url, json={"message": message})
        else:
            r = self.client.post(url, data={"message": message}, files={"image": ("photo.jpg", image, "image/jpeg")})
        assert r.status_code == status, r.text
        if status == 200:
            self.reply = r.json()
        return dict(r.json())

    @property
    def state(self) -> QueryState:
        return QueryState.from_dict(self.reply["state"])

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.reply["results"])

    @property
    def sections(self) -> list[dict[str, Any]]:
        return list(self.reply["sections"])

    @property
    def message(self) -> str:
        return str(self.reply["message"])

    def pins(self, items: Iterable[dict[str, Any]] | None = None) -> list[Pin]:
        """The stored pins behind result items (the flat results by default)."""
        rows = list(self.results if items is None else items)
        store = self.client.app.state.services.store  # type: ignore[attr-defined]
        by_id = {p.id: p for p in store.get_pins([i["pin_id"] for i in rows])}
        return [by_id[i["pin_id"]] for i in rows]

    def values(self, pin: Pin, field: str) -> tuple[str, ...]:
        """A pin's normalised values of a field (category levels, colours, attribute values)."""
        profile = self.client.app.state.services.runtime.search.current_index().profile  # type: ignore[attr-defined]
        raw = {"category": pin.category, "color": pin.color, "merchant": pin.product.merchant}.get(field)
        if field not in ("category", "color", "merchant"):
            raw = pin.attributes.get(field)
        return profile.values_of(field, raw)

    def levels(self, pin: Pin) -> set[str]:
        """Every level name of a pin's category path ("curtains", "home furnishing", ...), plural and
        singular (catalogs file the same kind under both: "Showpieces" and "Showpiece")."""
        names = {v.rsplit(" › ", 1)[-1] for v in self.values(pin, "category")}
        return names | {n + "s" for n in names} | {n[:-1] for n in names if n.endswith("s")}

    def colours(self, pin: Pin) -> set[str]:
        """A pin's colours as single words ({"red", "yellow", "blue"} for "Red, Yellow, Blue")."""
        return {w for v in self.values(pin, "color") for w in v.replace("-", " ").split()}

    def assert_all(self, check: Any, what: str, items: Iterable[dict[str, Any]] | None = None) -> None:
        """Every shown pin passes `check(pin)`; at least one is shown."""
        pins = self.pins(items)
        assert pins, f"no results for {what}: {self.message}"
        bad = [p.title for p in pins if not check(p)]
        assert not bad, f"{what}: {bad[:5]} ({self.message})"


def photo_of(client: TestClient, pin: Pin) -> bytes:
    """The bytes of a catalog pin's thumbnail, as a shopper would upload a photo of it."""
    r = client.get(f"/pins/{pin.id}/thumbnail")
    assert r.status_code == 200, r.text
    return r.content
