"""A small driver for scripted conversations through the HTTP API, with assertion helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi.testclient import TestClient

from moodboard.core.query import QueryState

AUDIENCE_OK = {"men": {"Men", "Unisex"}, "women": {"Women", "Unisex"}, "kids": {"Boys", "Girls"}}
SECTION_RELEVANT: dict[str, Callable[[dict[str, Any]], bool]] = {
    "tops": lambda a: a.get("subCategory") in {"Topwear", "Dress"},
    "layers": lambda a: a.get("subCategory") == "Topwear",
    "bottoms": lambda a: a.get("subCategory") == "Bottomwear",
    "footwear": lambda a: a.get("masterCategory") == "Footwear",
    "accessories": lambda a: a.get("masterCategory") == "Accessories",
}
"""What each fashion section name means in Myntra's own taxonomy; written independently of the planner."""


class Chat:
    """One session: send messages, keep the last reply, look up pins for assertions."""

    def __init__(self, client: TestClient, user_id: int | None = None) -> None:
        self.client = client
        body = {"user_id": user_id} if user_id is not None else {}
        r = client.post("/assistant/sessions", json=body)
        assert r.status_code == 201, r.text
        self.id: str = r.json()["session_id"]
        self.reply: dict[str, Any] = {}
        self.replies: list[dict[str, Any]] = []

    def say(self, message: str, image: bytes | None = None, status: int = 200) -> dict[str, Any]:
        url = f"/assistant/sessions/{self.id}/messages"
        if image is None:
            r = self.client.post(url, json={"message": message})
        else:
            r = self.client.post(url, data={"message": message}, files={"image": ("photo.jpg", image, "image/jpeg")})
        assert r.status_code == status, r.text
        if status == 200:
            self.reply = r.json()
            self.replies.append(self.reply)
        return r.json()

    def feedback(self, pin_id: int, kind: str) -> dict[str, Any]:
        r = self.client.post(f"/assistant/sessions/{self.id}/feedback", json={"pin_id": pin_id, "kind": kind})
        assert r.status_code == 200, r.text
        return r.json()

    def stored(self) -> dict[str, Any]:
        r = self.client.get(f"/assistant/sessions/{self.id}")
        assert r.status_code == 200, r.text
        return r.json()

    @property
    def state(self) -> QueryState:
        return QueryState.from_dict(self.reply["state"])

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.reply["results"])

    def section(self, name: str) -> dict[str, Any]:
        return next(s for s in self.reply["sections"] if s["name"] == name)

    def pins(self, items: Iterable[dict[str, Any]]) -> list[Any]:
        services = self.client.app.state.services  # type: ignore[attr-defined]
        ids = [i["pin_id"] for i in items]
        by_id = {p.id: p for p in services.store.get_pins(ids)}
        return [by_id[i] for i in ids]

    def retriever(self) -> Any:
        return self.client.app.state.services.get("assistant").retriever  # type: ignore[attr-defined]


def all_results(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat results plus every section's results."""
    return list(reply["results"]) + [r for s in reply["sections"] for r in s["results"]]
