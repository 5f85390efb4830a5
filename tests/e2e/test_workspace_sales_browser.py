"""A sales rep's day in the workspace, in a real headless Chromium: log an activity on a deal,
win the deal from the board with one click, and see on Customer 360 that the contact has become
a customer. Runs with JavaScript (htmx) on, at laptop and tablet widths."""

from __future__ import annotations

import pytest

from accounts import roles
from accounts.models import JourneyStage
from pipeline.models import Activity, Deal, DealStageChange
from tests.e2e.browser import chromium_page, requires_chromium, sign_in
from tests.factories import AccountFactory, ContactFactory, DealFactory, user_with_role

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = requires_chromium


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}], ids=str
)
def test_it_logs_an_activity_wins_the_deal_and_shows_the_new_customer(
    role_groups, live_server, viewport
):
    rep = user_with_role(roles.SALES_REP, username="e2e-rep")
    account = AccountFactory(name="Kansai Robotics")
    contact = ContactFactory(name="Aiko Tanaka", account=account, stage=JourneyStage.PROSPECT)
    deal = DealFactory(
        name="Welding cells", owner=rep, account=account, contact=contact, stage="quote"
    )
    errors: list[str] = []

    with chromium_page(viewport=viewport) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url, rep.username, next_path=f"/app/deals/{deal.pk}/")
        page.wait_for_selector("#log-activity")

        # Log a call on the deal: it lands in today's report and on the timeline.
        page.select_option("#log-activity select[name=kind]", "call")
        page.fill("#log-activity input[name=minutes]", "25")
        page.fill("#log-activity input[name=outcome]", "Agreed on the order")
        page.click("#activity-submit")
        page.wait_for_selector(".messages .message.success")
        logged = page.inner_text(".messages")
        timeline_after_call = page.inner_text("#timeline")

        # The board: one click moves the deal from quote to won (htmx swaps the board).
        page.click("nav.sidenav a[data-nav=board]")
        card = page.locator(f"#deal-card-{deal.pk}")
        card.locator("button[data-move=won]").click()
        page.wait_for_selector(f"section[data-stage=won] #deal-card-{deal.pk}")
        won_count = page.inner_text("section[data-stage=won] [data-count]")
        moved = page.inner_text("#board-area .messages")

        # Customer 360: the contact is now a customer, and the order is on the timeline.
        page.goto(f"{live_server.url}/app/contacts/{contact.pk}/")
        stage = page.get_attribute("#journey-stage", "data-stage")
        stage_label = page.inner_text("#journey-stage")
        kinds = page.locator("#timeline li").evaluate_all(
            "(rows) => rows.map((row) => row.dataset.kind)"
        )
        wider_than_viewport = page.evaluate(
            "() => document.documentElement.scrollWidth > window.innerWidth + 1"
        )

    assert errors == []
    assert "Activity logged in your daily report." in logged
    assert "Agreed on the order" in timeline_after_call
    assert "Welding cells moved to Won (order)." in moved
    assert won_count == "1"
    assert (stage, stage_label) == ("customer", "Customer")
    assert kinds[:3] == ["order", "deal_update", "call"]
    assert not wider_than_viewport
    deal.refresh_from_db()
    contact.refresh_from_db()
    assert (deal.stage, contact.stage) == ("won", "customer")
    assert list(
        DealStageChange.objects.filter(deal=deal, to_stage="won").values_list(
            "from_stage", "actor__username"
        )
    ) == [("quote", "e2e-rep")]
    activity = Activity.objects.get(deal=deal)
    assert (activity.kind, activity.minutes, activity.report.rep_id) == ("call", 25, rep.pk)
    assert Deal.objects.get(pk=deal.pk).closed_at is not None
