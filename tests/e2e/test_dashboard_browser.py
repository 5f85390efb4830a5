"""The KPI dashboard in a real headless browser: the charts are drawn from our static files.

Uses Debian's Chromium (/usr/bin/chromium) through Playwright's sync API; skips when either is
missing (CI installs Chromium; never `playwright install`)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer

from accounts import roles
from tests.factories import user_with_role

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
PASSWORD = "pass-word-123"

# Every canvas: has it a Chart, and how much more does its drawing weigh than a blank canvas?
DRAWN = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const blank = document.createElement("canvas");
  blank.width = canvas.width;
  blank.height = canvas.height;
  return {
    name: canvas.dataset.chart,
    chart: Chart.getChart(canvas) !== undefined,
    drawn: canvas.toDataURL().length - blank.toDataURL().length,
  };
})"""

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))),
    reason="/usr/bin/chromium is missing (apt-get install chromium)",
)


@pytest.fixture
def live_server(settings):
    """pytest-django's live server, but started for this test with plain-HTTP settings: its
    middleware reads them once, and the session-wide server would redirect to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False
    # Cookies marked Secure would not come back over plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    server = LiveServer("localhost")
    yield server
    server.stop()


@contextmanager
def chromium_page():
    # Playwright's sync API runs an event loop in this thread, where Django then refuses
    # database calls: write the data before opening the browser.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def test_it_draws_every_chart_of_the_dashboard(role_groups, live_server):
    call_command("seed_demo", contacts=300, no_progress=True)
    manager = user_with_role(roles.MANAGER, username="e2e-manager")
    errors: list[str] = []

    with chromium_page() as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/dashboard/")
        page.fill("#id_username", manager.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/dashboard/")
        page.wait_for_function("() => typeof Chart !== 'undefined'")
        charts = page.evaluate(DRAWN)
        bottleneck_shown = page.locator("#bottleneck").is_visible()

    assert errors == []
    assert [chart["name"] for chart in charts] == [
        "journeyFunnel",
        "pipelineFunnel",
        "times",
        "channels",
        "trends",
    ]
    assert all(chart["chart"] for chart in charts), charts
    assert all(chart["drawn"] > 1000 for chart in charts), charts
    assert bottleneck_shown
