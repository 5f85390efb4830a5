"""The KPI dashboard in a real headless browser: the charts are drawn from our static files.

Uses Debian's Chromium (/usr/bin/chromium) through Playwright's sync API; skips when either is
missing (CI installs Chromium; never `playwright install`)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts import roles
from tests.e2e.browser import PASSWORD, chromium_page, requires_chromium
from tests.factories import user_with_role

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

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = requires_chromium


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
