"""The web UI reads one result contract (issue 17): every request the page makes during a feed, a search
("more like this"), an assistant turn, a filter edit and a pin's related pins is recorded; no card is
fetched one by one, and the filter edit travels as structured filters, not as an English sentence."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PIN_GET = re.compile(r"/pins/(\d+)$")


def _done(page: Any, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length >= {n}")


def test_no_per_card_fetches_and_structured_filter_edits(page: Any) -> None:
    requests: list[Any] = []
    page.on("request", lambda r: requests.append(r))
    page.reload()  # record the home feed from the start
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("document.querySelectorAll('#results .pin-card').length > 0")

    # search: "more like this" on the first card posts /search
    page.locator("#results .pin-card button[data-action=more]").first.click()
    page.wait_for_function("document.querySelector('#pins-heading').textContent.startsWith('More like')")
    page.wait_for_function("document.querySelectorAll('#results .pin-card').length > 0")

    # an assistant turn, then a filter edit from the form
    first = page.locator("#results .pin-card").first
    words = first.locator(".pin-title").inner_text().split()[-1]
    page.fill("#chat-input", words)
    page.press("#chat-input", "Enter")
    _done(page, 1)
    prices = [float(p.replace(",", "")) for p in re.findall(r"[0-9][0-9,]*\.?[0-9]*", page.inner_text("#results"))]
    cap = int(max(prices)) + 1 if prices else 1000
    page.fill("#price-max", str(cap))
    page.click("#filters button[type=submit]")
    _done(page, 2)

    # the signed-in feed, then one pin's detail (a user action: one GET /pins/{id}) and its related pins
    page.select_option("#persona", "leo")
    page.wait_for_function("document.querySelector('#pins-heading').textContent.includes('Leo')")
    page.wait_for_function("document.querySelectorAll('#results .pin-card').length > 0")
    opened = int(page.locator("#results .pin-card").first.get_attribute("data-pin-id"))
    page.locator("#results .pin-card .pin-title a").first.click()
    page.wait_for_selector("#pin-dialog[open] #pin-title")
    page.locator(".related .pin-card, .related p").first.wait_for()
    page.wait_for_timeout(500)  # let lazy images and anything else the page would fetch start

    api = [(r.method, "/" + r.url.split("?")[0].split("//", 1)[1].split("/", 1)[1]) for r in requests]
    one_by_one = [p for m, p in api if m == "GET" and PIN_GET.search(p)]
    assert one_by_one == [f"/pins/{opened}"], one_by_one  # only the pin the shopper opened
    seen = {p for _, p in api}
    assert "/search" in seen and "/me/feed" in seen, seen  # a first visit signs in the first persona
    assert f"/pins/{opened}/related" in seen, seen

    turns = [r for r in requests if r.method == "POST" and "/messages" in r.url]
    assert len(turns) == 2, [r.url for r in turns]
    edit = json.loads(turns[1].post_data)
    assert edit["message"] == "" and edit["filters"] == {"price_max": cap} and edit["remove_filters"] == [], edit
