"""Driving Debian's Chromium (/usr/bin/chromium) through Playwright's sync API.

Tests that use it mark themselves with ``requires_chromium`` and import ``sync_api`` through
``pytest.importorskip`` (see test_workspace_sales_browser.py), so they skip with a clear message
where Chromium or the playwright package is missing (CI installs Chromium; never run
`playwright install`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The factories' password (tests.factories.UserFactory).
PASSWORD = "pass-word-123"

requires_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))),
    reason="/usr/bin/chromium is missing (apt-get install chromium)",
)


@contextmanager
def chromium_page(*, viewport: dict | None = None, locale: str = "en-US") -> Iterator:
    """A page of a fresh headless Chromium. Playwright's sync API runs an event loop in this
    thread, where Django then refuses database calls: write the data before opening it."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = browser.new_context(
                viewport=viewport or {"width": 1280, "height": 900}, locale=locale
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def sign_in(page, base_url: str, username: str, *, next_path: str = "/app/") -> None:
    """Sign in through the workspace's login page and wait until `next_path` has loaded."""
    page.goto(f"{base_url}/app/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_load_state("domcontentloaded")
