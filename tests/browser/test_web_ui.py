"""The web UI in headless Chromium against a real server (issue 6, acceptance 1).

Covers a three-turn conversation with refinements, search by a real photo (button and drag-and-drop),
saving to a board and seeing it on the boards page, a price filter, hiding a pin, switching persona,
and keyboard-only use. Assertions read what the page shows (card prices, colours, headings).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CARDS_JS = """() => Array.from(document.querySelectorAll('#results .pin-card')).map(el => ({
  id: Number(el.dataset.pinId), color: el.dataset.color, category: el.dataset.category,
  title: el.querySelector('.pin-title').textContent,
  price: (el.querySelector('.pin-price').textContent.match(/[0-9][0-9,]*(\\.[0-9]+)?/) || [null])[0]
}))"""


def cards(page: Any) -> list[dict[str, Any]]:
    """The pins shown in the results area, in order, with their displayed price as a float."""
    out = page.evaluate(CARDS_JS)
    for c in out:
        c["price"] = float(c["price"].replace(",", "")) if c["price"] else None
    return out


def replies_done(page: Any) -> int:
    return int(page.locator(".msg-bot[aria-busy=false]").count())


def send(page: Any, text: str) -> str:
    """Type a message, press Enter, wait for the streamed reply to finish; return the reply text."""
    before = replies_done(page)
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {before}")
    reply = page.locator(".msg-bot").last
    assert "msg-error" not in (reply.get_attribute("class") or ""), reply.inner_text()
    return str(reply.inner_text())


def wait_feed(page: Any) -> list[int]:
    page.wait_for_function("document.querySelectorAll('#results .pin-card').length > 0")
    return [c["id"] for c in cards(page)]


def top_category(url: str) -> str:
    """The catalog's most common category (so the tests work on Myntra and on the generated catalog)."""
    by_cat: dict[str, int] = {}
    for p in httpx.get(f"{url}/pins?limit=500").json():
        by_cat[p["category"]] = by_cat.get(p["category"], 0) + 1
    return max(by_cat, key=lambda c: by_cat[c])


def test_three_turn_conversation_with_refinement(page: Any, served: dict[str, Any]) -> None:
    category = top_category(served["url"])

    # turn 1: a category; the reply streams as server-sent events
    with page.expect_response(lambda r: "/messages?stream=true" in r.url) as streamed:
        send(page, f"show me {category.lower()}")
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    first = cards(page)
    assert len(first) >= 4
    assert page.evaluate("Array.from(document.querySelectorAll('#results img')).every(i => i.loading === 'lazy')")
    assert all(c["category"] == category for c in first)

    # turn 2: refine by colour (drop the most common colour on screen)
    colours = [c["color"] for c in first if c["color"]]
    top = max(set(colours), key=colours.count)
    send(page, f"not {top.lower()}")
    second = cards(page)
    assert second, "refining by colour left nothing on screen"
    assert all(c["color"] != top for c in second)
    assert all(c["category"] == category for c in second)
    assert f"not {top.lower()}" in page.inner_text("#active-filters")

    # turn 3: refine by price, below the median of what is shown
    prices = sorted(c["price"] for c in second if c["price"] is not None)
    cap = int(prices[len(prices) // 2]) + 1
    send(page, f"under ${cap}")
    third = cards(page)
    assert third
    assert all(c["price"] is not None and c["price"] <= cap for c in third)
    assert all(c["color"] != top and c["category"] == category for c in third)
    # the filter form follows the conversation
    assert page.input_value("#price-max") == str(cap)
    assert page.locator("#chat-log .msg-user").count() == 3
    assert page.locator("#chips .chip").count() >= 1


def _clothing_photo(data_dir: Path | None) -> Path:
    if data_dir is None or not (data_dir / "clothing-small" / "test").is_dir():
        pytest.skip(reason="real photos not found: set MOODBOARD_DATA_DIR to the shared data (clothing-small/test)")
    photos = sorted((data_dir / "clothing-small" / "test" / "t-shirt").glob("*.jpg"))
    if not photos:
        pytest.skip(reason="clothing-small/test/t-shirt holds no JPEG photos")
    return photos[0]


def drop_file(page: Any, data: bytes, name: str) -> None:
    """Drag a file over the page and drop it, as a user dragging a photo from their desktop."""
    transfer = page.evaluate_handle(
        """([b64, name]) => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
           const dt = new DataTransfer(); dt.items.add(new File([bytes], name, {type: 'image/jpeg'}));
           return dt; }""",
        [base64.b64encode(data).decode(), name],
    )
    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    assert page.locator("#drop-overlay").is_visible()
    page.dispatch_event("body", "drop", {"dataTransfer": transfer})
    assert page.locator("#drop-overlay").is_hidden()


def distinctive_pin(url: str) -> dict[str, Any]:
    """The pin whose photo stands out most under the suite's fake embedder (a 4x4 colour thumbnail).

    Regression: a fixed pin id made this test depend on which catalog sample was served; in the evenly
    spaced sample, pin 7's flip-flops had near-identical 4x4 twins, and the persona's taste bias broke the tie.
    """
    import io

    import numpy as np
    from PIL import Image

    from moodboard.embed.fake import FakeEmbedder

    pins = httpx.get(f"{url}/pins", params={"limit": 200}).json()
    images = [Image.open(io.BytesIO(httpx.get(f"{url}{p['thumbnail_url']}").content)) for p in pins]
    vecs = FakeEmbedder(dim=64).embed_images(images)
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    return dict(pins[int(np.argmin(sims.max(axis=1)))])


def test_upload_photo_returns_similar_pins(page: Any, served: dict[str, Any], tmp_path: Path) -> None:
    # the button path: a product's own photo, sent as an image turn, brings that product back first
    pin = distinctive_pin(served["url"])
    photo = tmp_path / "product.jpg"
    photo.write_bytes(httpx.get(f"{served['url']}{pin['thumbnail_url']}").content)
    page.set_input_files("#upload-input", str(photo))
    page.wait_for_function("document.querySelectorAll('.msg-bot[aria-busy=false]').length > 0")
    assert page.locator(".msg-user img.msg-photo").get_attribute("alt") == "Your photo: product.jpg"
    shown = cards(page)
    # the product itself, or (generated catalog) a variant drawn the same way, leads; the product is top 3
    assert shown and (shown[0]["category"], shown[0]["color"]) == (pin["category"], pin["color"]), (pin, shown[:3])
    assert pin["id"] in [c["id"] for c in shown[:3]], (pin["title"], shown[:3])
    # "like this but in <colour>" combines the photo with text
    colour = next(c["color"] for c in shown if c["color"] and c["color"] != pin["color"])
    send(page, f"like this but in {colour.lower()}")
    assert all(c["color"] == colour for c in cards(page))


def test_drop_real_photo(page: Any, served: dict[str, Any]) -> None:
    """A person's photo dropped on the page is searched; the app shows what the server found (with the
    test's fake embedder that may honestly be nothing above the relevance cutoff), never an error."""
    photo = _clothing_photo(served["data_dir"])
    page.click("nav >> text=Boards")  # a photo dropped on any page searches, and Discover shows the answer
    drop_file(page, photo.read_bytes(), photo.name)
    page.wait_for_function("document.querySelectorAll('.msg-bot[aria-busy=false]').length > 0")
    assert page.locator("#view-home").is_visible() and page.evaluate("location.hash") == "#/"
    reply = page.locator(".msg-bot").last
    assert "msg-error" not in (reply.get_attribute("class") or "")
    assert page.locator(".msg-user img.msg-photo").count() == 1
    # either pins, or the server's honest "no match" message in place of the grid
    assert cards(page) or page.locator("#results p.empty").inner_text().strip() in reply.inner_text()


def test_save_to_board_then_see_it_on_boards_page(page: Any) -> None:
    wait_feed(page)
    first = page.locator("#results .pin-card").first
    title = first.locator(".pin-title").inner_text()
    first.locator("button[data-action=save]").click()
    page.wait_for_selector("#save-dialog[open]")
    page.fill("#save-new-name", "Browser test picks")
    page.press("#save-new-name", "Enter")  # the keyboard path: Enter submits the dialog's form
    page.wait_for_selector(".notice-info:has-text('Saved to Browser test picks')")
    page.click("nav >> text=Boards")
    board = page.locator("section.board", has_text="Browser test picks")
    board.wait_for()
    assert title in board.inner_text()
    assert page.locator("[data-nav=boards][aria-current=page]").count() == 1


def test_price_filter(page: Any) -> None:
    feed = cards(page) if wait_feed(page) else []
    prices = sorted(c["price"] for c in feed if c["price"] is not None)
    cap = int(prices[len(prices) // 2])
    page.fill("#price-max", str(cap))
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('.msg-bot[aria-busy=false]').length > 0")
    assert page.locator("#chat-log .msg-user").last.inner_text().endswith(f"under ${cap}")
    shown = cards(page)
    assert shown
    assert all(c["price"] is not None and c["price"] <= cap for c in shown)
    assert f"under ${cap}" in page.inner_text("#active-filters")
    # a tighter range from the form keeps the conversation's other constraints
    low = int(min(c["price"] for c in shown))
    page.fill("#price-min", str(low))
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('.msg-bot[aria-busy=false]').length > 1")
    ranged = cards(page)
    assert ranged and all(low <= c["price"] <= cap for c in ranged)


def test_hide_pin(page: Any) -> None:
    page.select_option("#persona", "leo")
    page.wait_for_function("document.querySelector('#pins-heading').textContent.includes('Leo')")
    before = wait_feed(page)
    victim = before[0]
    page.locator(f"#results .pin-card[data-pin-id='{victim}'] button[data-action=hide]").click()
    assert page.locator(f"#results .pin-card[data-pin-id='{victim}']").count() == 0
    page.wait_for_timeout(1200)  # the taste graph pulls new events at most every 0.5 s
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    after = wait_feed(page)
    assert victim not in after
    assert page.input_value("#persona") == "leo"


def server_feed(url: str, persona: str, k: int = 30) -> tuple[list[int], list[dict[str, Any]]]:
    """The persona's feed as the API gives it, and the pins on the persona's boards."""
    login = httpx.post(f"{url}/auth/demo-login", json={"persona": persona}).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    feed = httpx.get(f"{url}/users/{login['user']['id']}/feed?k={k}", headers=auth).json()
    boards = httpx.get(f"{url}/me/boards", headers=auth).json()
    return [i["pin_id"] for i in feed["items"]], [p for b in boards for p in b["pins"]]


def test_switching_persona_changes_feed(page: Any, served: dict[str, Any]) -> None:
    """The switcher signs in as the persona and shows exactly that persona's feed and boards."""
    shown = {}
    for persona, name in (("ava", "Ava"), ("sam", "Sam"), ("leo", "Leo")):
        page.select_option("#persona", persona)
        page.wait_for_function(f"document.querySelector('#pins-heading').textContent.includes({name!r})")
        shown[persona] = wait_feed(page)
        assert shown[persona] == server_feed(served["url"], persona)[0]
    assert shown["ava"] != shown["sam"]
    page.click("nav >> text=Boards")
    page.locator("section.board", has_text="Leo").first.wait_for()
    assert "Ava" not in page.inner_text("#boards-list")


def test_persona_feeds_reflect_their_taste(served: dict[str, Any]) -> None:
    """Personalisation is visible: each persona's feed leans to the categories on their own boards (at least
    half of the first 12, or every such pin they have not saved yet where the catalog holds fewer)."""
    catalog = httpx.get(f"{served['url']}/pins?limit=500").json()
    for persona in ("ava", "leo", "sam"):
        ids, saved = server_feed(served["url"], persona)
        own = {p["category"] for p in saved}
        unsaved = [p for p in catalog if p["category"] in own and p["id"] not in {s["id"] for s in saved}]
        pins = [httpx.get(f"{served['url']}/pins/{i}").json() for i in ids[:12]]
        mine = sum(p["category"] in own for p in pins)
        assert mine >= min(len(pins) // 2, len(unsaved)), (persona, own, [p["category"] for p in pins])


def test_keyboard_only_open_pin_and_escape(page: Any) -> None:
    wait_feed(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "pins"
    page.keyboard.press("Tab")  # the first pin's title link comes right after the skip target
    title = page.locator("#results .pin-title a").first.inner_text()
    assert page.evaluate("document.activeElement.closest('.pin-title') !== null")
    assert page.evaluate("document.activeElement.textContent") == title
    page.keyboard.press("Enter")
    page.wait_for_selector("#pin-dialog[open] #pin-title")
    assert page.inner_text("#pin-title") == title
    assert re.search(r"\$[0-9]", page.inner_text(".detail-price"))
    assert page.locator("#pin-dialog a:has-text('Shop')").count() == 1
    page.locator(".related .pin-card, .related p").first.wait_for()
    page.keyboard.press("Escape")
    page.wait_for_selector("#pin-dialog:not([open])", state="attached")
    assert page.evaluate("document.activeElement.textContent") == title  # focus goes back to the card
    # the chat works from the keyboard alone
    page.focus("#chat-input")
    page.keyboard.type("start over")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('.msg-bot[aria-busy=false]').length > 0")


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core (WCAG 2.x A/AA) violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    found = Axe().run(page, options=options).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in {"serious", "critical"}
    ]


def test_accessibility_axe(page: Any, served: dict[str, Any]) -> None:
    """Feed, a conversation with results, the pin dialog and the boards page pass axe-core's WCAG AA rules."""
    wait_feed(page)
    problems = axe_violations(page)
    send(page, top_category(served["url"]).lower())
    problems += axe_violations(page)
    page.locator("#results .pin-title a").first.click()
    page.wait_for_selector("#pin-dialog[open] #pin-title")
    page.locator(".related .pin-card, .related p").first.wait_for()
    problems += axe_violations(page)
    page.keyboard.press("Escape")
    page.click("nav >> text=Boards")
    page.locator("section.board").first.wait_for()
    problems += axe_violations(page)
    assert not problems, "\n".join(problems)


def test_errors_show_detail_and_hint(page: Any, served: dict[str, Any]) -> None:
    """A file that claims to be a JPEG but is not: the server's problem detail and hint are shown, no trace."""
    feed = wait_feed(page)
    drop_file(page, b"this is not an image at all" * 10, "fake.jpg")
    page.wait_for_selector(".msg-bot.msg-error")
    assert [c["id"] for c in cards(page)] == feed  # a refused turn leaves the grid as it was
    notice = page.locator(".notice-error").last
    notice.wait_for()
    text = notice.inner_text()
    assert "image" in text.lower()
    assert notice.locator(".hint").inner_text().strip()  # the problem's hint, e.g. "upload a JPEG or PNG"
    assert "Traceback" not in page.content()
    # the conversation still works afterwards
    send(page, top_category(served["url"]).lower())
    assert cards(page)


def test_goal_cascade_sections_and_chips(page: Any) -> None:
    send(page, "an outfit for a beach wedding")
    sections = page.locator("#results section.cascade-section")
    assert sections.count() >= 3
    names = [sections.nth(i).locator("h2").inner_text() for i in range(sections.count())]
    assert all(sections.nth(i).locator(".pin-card").count() > 0 for i in range(sections.count())), names
    assert page.inner_text("#pins-heading").startswith("Your plan")
    chips = page.locator("#chips .chip")
    assert chips.count() >= 2
    chip = chips.first.inner_text()
    before = replies_done(page)
    chips.first.click()
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {before}")
    assert page.locator("#chat-log .msg-user").last.inner_text().strip().endswith(chip)


def test_more_and_less_like_this(page: Any, served: dict[str, Any]) -> None:
    # on the feed: "More" searches by the pin's image, "Less" pushes a pin away from that search
    wait_feed(page)
    first = page.locator("#results .pin-card").first
    title = first.locator(".pin-title").inner_text()
    first.locator("button[data-action=more]").click()
    page.wait_for_function(f"document.querySelector('#pins-heading').textContent.includes({title!r})")
    similar = cards(page)
    assert similar
    pushed = similar[0]["id"]
    with page.expect_request(lambda r: r.url.endswith("/search") and r.method == "POST") as searched:
        page.locator(f"#results .pin-card[data-pin-id='{pushed}'] button[data-action=less]").click()
    assert json.loads(searched.value.post_data or "{}")["negative_pin_ids"] == [pushed]
    page.wait_for_function("document.querySelector('#pins-note').textContent.startsWith('Less like 1')")
    assert cards(page)
    assert pushed not in [c["id"] for c in cards(page)]

    # in a conversation they are refinements the assistant understands, by result number
    send(page, top_category(served["url"]).lower())
    third = page.locator("#results .pin-card").nth(2)
    before = replies_done(page)
    third.locator("button[data-action=more]").click()
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {before}")
    assert page.locator("#chat-log .msg-user").last.inner_text().strip().endswith("more like #3")
    before = replies_done(page)
    page.locator("#results .pin-card").nth(1).locator("button[data-action=less]").click()
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {before}")
    assert page.locator("#chat-log .msg-user").last.inner_text().strip().endswith("less like #2")
    assert "msg-error" not in (page.locator(".msg-bot").last.get_attribute("class") or "")


def test_phone_width_layout(browser: Any, served: dict[str, Any]) -> None:
    """At 390 px: nothing overflows sideways, the filters fold, the assistant is a sheet opened from the
    top bar that gives way to the results after a reply, and Escape closes it."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, base_url=served["url"], bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto("/")
        page.wait_for_selector("body[data-ready=true]")
        wait_feed(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("#assistant").is_hidden()
        assert page.locator("#price-max").is_hidden()  # folded into the "Filters" disclosure
        page.click("#chat-toggle")
        assert page.get_attribute("#chat-toggle", "aria-expanded") == "true"
        send(page, top_category(served["url"]).lower())
        assert page.locator("#assistant").is_hidden() and cards(page)
        page.click("#chat-toggle")
        problems = axe_violations(page)
        assert not problems, "\n".join(problems)
        page.keyboard.press("Escape")
        assert page.locator("#assistant").is_hidden()
        assert page.evaluate("document.activeElement.id") == "chat-toggle"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_phone_width_layout.png"), full_page=True)
    finally:
        context.close()


def test_app_runs_under_its_content_security_policy(browser: Any, served: dict[str, Any]) -> None:
    """Without bypass: the page loads, talks to the API and shows pins with no CSP violation."""
    context = browser.new_context(base_url=served["url"])
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        response = page.goto("/")
        assert response is not None and "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("#results img")
        assert not problems, problems
    finally:
        context.close()


def _engagement_requests(page: Any) -> list[Any]:
    """Start collecting the page's engagement requests (POST /events and the session feedback alias)."""
    seen: list[Any] = []
    page.on(
        "request",
        lambda r: seen.append(r) if r.method == "POST" and re.search(r"/events$|/feedback$", r.url) else None,
    )
    return seen


def test_one_gesture_sends_one_engagement_request(page: Any, served: dict[str, Any]) -> None:
    # Regression (issue 17, review 3 item 4): a hide sent POST /events *and* the session feedback, and
    # opening a pin sent both as well; now each gesture sends one event
    seen = _engagement_requests(page)
    # a guest in a conversation: through the session (its guest user records the event)
    page.select_option("#persona", "")
    page.wait_for_function("localStorage.getItem('moodboard.token') === null")
    wait_feed(page)
    send(page, top_category(served["url"]).lower())
    victim = cards(page)[0]["id"]
    with page.expect_response(lambda r: r.url.endswith("/feedback")) as answered:
        page.locator(f"#results .pin-card[data-pin-id='{victim}'] button[data-action=hide]").click()
    assert answered.value.status == 200
    page.wait_for_timeout(300)
    assert [(r.url.rsplit("/", 1)[-1], r.post_data_json["kind"]) for r in seen] == [("feedback", "hide")]
    # a signed-in shopper: POST /events, naming the conversation when one is open
    seen.clear()
    page.select_option("#persona", "leo")
    page.wait_for_function("document.querySelector('#pins-heading').textContent.includes('Leo')")
    wait_feed(page)
    page.locator("#results .pin-card .pin-title a").first.click()  # open: one click event
    page.wait_for_selector("#pin-dialog[open] #pin-title")
    page.keyboard.press("Escape")
    send(page, top_category(served["url"]).lower())
    shown = cards(page)[1]["id"]
    with page.expect_response(lambda r: r.url.endswith("/events")) as answered:
        page.locator(f"#results .pin-card[data-pin-id='{shown}'] button[data-action=hide]").click()
    assert answered.value.status == 202
    page.wait_for_timeout(300)
    sent = [r.post_data_json["events"] for r in seen]
    assert [r.url.rsplit("/", 1)[-1] for r in seen] == ["events", "events"], [r.url for r in seen]
    assert [len(e) for e in sent] == [1, 1] and [e[0]["type"] for e in sent] == ["click", "hide"]
    session = page.evaluate("() => import('/static/js/state.js').then((m) => m.state.sessionId)")
    assert sent[0][0]["context"] == {} and sent[1][0]["context"] == {"session_id": session}
