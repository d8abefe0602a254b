"""Take the README's screenshots from a running moodboard app (desktop and phone, full page).

    python -m tests.browser.screenshots http://127.0.0.1:8000 --out docs/screenshots

Desktop: a persona's feed, then a goal conversation with its cascade of sections. Phone: the same
conversation at 390 px wide. Uses Debian's Chromium (MOODBOARD_TEST_CHROMIUM or /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tests.browser.conftest import CHROMIUM_ARGS, chromium_path


def _ask(page: Any, text: str) -> None:
    before = page.locator(".msg-bot[aria-busy=false]").count()
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"document.querySelectorAll('.msg-bot[aria-busy=false]').length > {before}")
    settle(page)


def settle(page: Any) -> None:
    """Load every lazy thumbnail (a full-page capture does not scroll) and scroll back to the top."""
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


def take(url: str, out: Path, persona: str, goal: str, refine: str) -> list[Path]:
    """Write desktop-feed.png, desktop.png and phone.png under `out`; returns their paths."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise SystemExit("Chromium not found: run scripts/services.sh or set MOODBOARD_TEST_CHROMIUM")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        for name, viewport, mobile in (("desktop", (1440, 1000), False), ("phone", (390, 844), True)):
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]}, is_mobile=mobile, has_touch=mobile
            )
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]")
            if persona:
                page.select_option("#persona", persona)
                page.wait_for_load_state("networkidle")
            if name == "desktop":
                settle(page)
                page.screenshot(path=str(out / "desktop-feed.png"), full_page=True)
                written.append(out / "desktop-feed.png")
            else:
                page.click("#chat-toggle")
            _ask(page, goal)
            if refine:
                if mobile:
                    page.click("#chat-toggle")
                _ask(page, refine)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            written.append(out / f"{name}.png")
            context.close()
        browser.close()
    return written


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--persona", default="ava")
    ap.add_argument("--goal", default="an outfit for a beach wedding")
    ap.add_argument("--refine", default="the footwear, but in white")
    args = ap.parse_args()
    for p in take(args.url, args.out, args.persona, args.goal, args.refine):
        print(p, file=sys.stderr)


if __name__ == "__main__":
    main()
